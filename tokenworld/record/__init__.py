"""Recording: rendered frames (numpy images) into an MP4 (H.264 with PyAV), a GIF or numbered PNG files.

Below the viewer: it encodes frames and knows nothing of how they are drawn.
`tokenworld record` and the viewer's Record button (tokenworld/viewer/recorder.py)
render the frames and hand them here.
"""

from __future__ import annotations

from tokenworld.record.writers import (
    KINDS,
    BackgroundWriter,
    FrameWriter,
    GifWriter,
    Mp4Writer,
    PngFrames,
    RecordError,
    even_size,
    kind_of,
    open_writer,
)

__all__ = [
    "KINDS",
    "BackgroundWriter",
    "FrameWriter",
    "GifWriter",
    "Mp4Writer",
    "PngFrames",
    "RecordError",
    "even_size",
    "kind_of",
    "open_writer",
]
