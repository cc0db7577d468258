"""Recording: rendered frames (numpy images) into an MP4 file with PyAV."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class VideoWriter:
    """Writes (h, w, 3) uint8 frames to an H.264 MP4 (yuv420p, playable everywhere).

    Frames must all have the size of the first one; odd sizes are cropped by a
    pixel to the even size H.264 needs. Use as a context manager or call `close()`.
    """

    def __init__(self, path: str | Path, fps: int = 30, *, crf: int = 23):
        import av

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = int(fps)
        self.crf = crf
        self._container = av.open(str(self.path), mode="w")
        self._stream = None
        self.frames = 0

    def add(self, image: np.ndarray) -> None:
        import av

        img = np.ascontiguousarray(image[: image.shape[0] // 2 * 2, : image.shape[1] // 2 * 2, :3], np.uint8)
        if self._stream is None:
            codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
            self._stream = self._container.add_stream(codec, rate=self.fps)
            self._stream.width, self._stream.height = img.shape[1], img.shape[0]
            self._stream.pix_fmt = "yuv420p"
            if codec == "libx264":
                self._stream.options = {"crf": str(self.crf), "preset": "veryfast"}
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> Path:
        if self._container is not None:
            if self._stream is not None:
                for packet in self._stream.encode():
                    self._container.mux(packet)
            self._container.close()
            self._container = None
        return self.path

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
