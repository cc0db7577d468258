"""Frame writers: (h, w, 3) uint8 images into an H.264 MP4, an animated GIF or numbered PNG files.

All three take frames of one size, given up front, through `add(image)` and
finish with `close()`, which returns what was written. `open_writer` picks one
by the output path's extension. Nothing here knows how frames are made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from tokenworld.errors import TokenWorldError

KINDS = {".mp4": "H.264 video", ".gif": "animated GIF", ".png": "numbered PNG frames"}


class RecordError(TokenWorldError):
    """A recording cannot be made as asked (output path, size, frame rate, camera path)."""


class FrameWriter(Protocol):
    """Where rendered frames go."""

    path: Path  # the file (MP4, GIF) or the first frame's file (PNG frames)
    frames: int  # frames added so far

    def add(self, image: np.ndarray) -> None:
        """Append one (h, w, 3) uint8 frame of the writer's size."""

    def close(self) -> Path:
        """Finish writing (idempotent); returns `path`."""


def open_writer(path: str | Path, *, fps: float, size: tuple[int, int]) -> FrameWriter:
    """A writer for `path` by its extension: .mp4 (H.264, yuv420p), .gif, or .png (numbered frames beside it).

    Raises `RecordError` for an unknown extension, an odd size for MP4 or a frame rate out of range.
    """
    path = Path(path)
    suffix = kind_of(path)
    if not 1 <= fps <= 240:
        raise RecordError(f"a frame rate of {fps:g} frames a second is out of range: use 1 to 240.")
    w, h = int(size[0]), int(size[1])
    if w < 2 or h < 2:
        raise RecordError(f"a frame size of {w}x{h} is too small.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordError(f"cannot make the folder {path.parent}: {exc.strerror}.") from None
    if suffix == ".mp4":
        return Mp4Writer(path, fps=fps, size=(w, h))
    if suffix == ".gif":
        return GifWriter(path, fps=fps, size=(w, h))
    return PngFrames(path, size=(w, h))


class BackgroundWriter:
    """A `FrameWriter` that encodes in a thread of its own, so a window recording what it shows keeps drawing.

    `add` queues a frame (waiting only when `depth` frames are still queued); `close` waits for the queue to be
    written, finishes the file and raises what the encoder raised, if anything.
    """

    def __init__(self, writer: FrameWriter, *, depth: int = 32):
        import queue
        import threading

        self.writer = writer
        self.path = writer.path
        self.frames = 0
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="tokenworld-encoder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            image = self._queue.get()
            if image is None:
                return
            if self._error is None:
                try:
                    self.writer.add(image)
                except BaseException as exc:  # handed to the caller at close (the thread must keep draining)
                    self._error = exc

    def add(self, image: np.ndarray) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(np.array(image, copy=True))  # the caller may reuse its buffer
        self.frames += 1

    def close(self) -> Path:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self.writer.close()
        if self._error is not None:
            raise self._error
        return self.path


def kind_of(path: str | Path) -> str:
    """The extension of an output path this package writes (.mp4, .gif, .png), or `RecordError` saying which are."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in KINDS:
        known = ", ".join(f"{k} ({v})" for k, v in KINDS.items())
        raise RecordError(f"{path}: cannot write a '{path.suffix or 'no extension'}' file; end the name with {known}.")
    return suffix


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    """`size` rounded down to even width and height (what H.264 in yuv420p needs)."""
    return int(size[0]) // 2 * 2, int(size[1]) // 2 * 2


def _check(image: np.ndarray, size: tuple[int, int], path: Path) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] < 3 or (image.shape[1], image.shape[0]) != tuple(size):
        raise RecordError(
            f"{path}: frame of shape {image.shape} does not match the recording's size {size[0]}x{size[1]}."
        )
    return np.ascontiguousarray(image[:, :, :3], np.uint8)


class Mp4Writer:
    """H.264 in an MP4 (yuv420p: plays everywhere), encoded in-process with PyAV.

    Args:
        path: the .mp4 file (overwritten).
        fps: frames a second of video.
        size: (width, height); both must be even (yuv420p halves the colour planes).
        crf: x264 quality (lower is better and bigger; 23 is x264's default).
    """

    def __init__(self, path: str | Path, *, fps: float, size: tuple[int, int], crf: int = 23):
        import av

        w, h = int(size[0]), int(size[1])
        if w % 2 or h % 2:
            raise RecordError(
                f"H.264 video needs an even width and height; {w}x{h} is odd: use {w // 2 * 2}x{h // 2 * 2}."
            )
        self.path = Path(path)
        self.size = (w, h)
        self.fps = fps
        self.frames = 0
        try:
            self._container = av.open(str(self.path), mode="w")
        except OSError as exc:
            raise RecordError(f"cannot write {self.path}: {exc.strerror or exc}.") from None
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        from fractions import Fraction

        self._stream = self._container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        self._stream.width, self._stream.height = w, h
        self._stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            # mbtree off: with it, x264's lookahead makes the same frames encode differently from run to run
            # (measured: 7 different files from 8 encodes of one clip); without it, the same every time.
            self._stream.options = {"crf": str(crf), "preset": "veryfast", "x264-params": "mbtree=0"}

    def add(self, image: np.ndarray) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(_check(image, self.size, self.path), format="rgb24")
        frame.pts = self.frames
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> Path:
        if self._container is not None:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            self._container = None
        return self.path

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class GifWriter:
    """An animated GIF that loops (Pillow; each frame gets its own 256-colour palette).

    Frames are kept (one byte a pixel) until `close`; GIF delays are whole hundredths
    of a second, so 30 frames a second play at 1/0.03 = 33.
    """

    def __init__(self, path: str | Path, *, fps: float, size: tuple[int, int]):
        try:
            from PIL import Image  # noqa: F401  (Pillow comes with matplotlib, a dependency)
        except ImportError:
            raise RecordError("writing a GIF needs Pillow: pip install pillow (or write an .mp4).") from None
        self.path = Path(path)
        self.size = (int(size[0]), int(size[1]))
        self.fps = fps
        self.frames = 0
        self._images: list = []

    def add(self, image: np.ndarray) -> None:
        from PIL import Image

        img = Image.fromarray(_check(image, self.size, self.path), "RGB")
        self._images.append(img.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE))
        self.frames += 1

    def close(self) -> Path:
        if self._images:
            first, rest = self._images[0], self._images[1:]
            delay = max(round(1000 / self.fps / 10) * 10, 20)  # ms, in whole hundredths
            try:
                first.save(self.path, save_all=True, append_images=rest, duration=delay, loop=0, optimize=False)
            except OSError as exc:
                raise RecordError(f"cannot write {self.path}: {exc.strerror or exc}.") from None
            self._images = []
        return self.path


class PngFrames:
    """One PNG file a frame, numbered beside `path`: demo.png -> demo-00000.png, demo-00001.png, ...

    `path` becomes the first frame's file once one is written.
    """

    def __init__(self, path: str | Path, *, size: tuple[int, int]):
        self.pattern = Path(path)
        self.path = self.frame_path(0)
        self.size = (int(size[0]), int(size[1]))
        self.frames = 0

    def frame_path(self, i: int) -> Path:
        return self.pattern.with_name(f"{self.pattern.stem}-{i:05d}.png")

    def add(self, image: np.ndarray) -> None:
        import av

        img = _check(image, self.size, self.pattern)
        codec = av.CodecContext.create("png", "w")
        codec.width, codec.height, codec.pix_fmt = self.size[0], self.size[1], "rgb24"
        packets = codec.encode(av.VideoFrame.from_ndarray(img, format="rgb24")) + codec.encode(None)
        try:
            self.frame_path(self.frames).write_bytes(b"".join(bytes(p) for p in packets))
        except OSError as exc:
            raise RecordError(f"cannot write {self.frame_path(self.frames)}: {exc.strerror}.") from None
        self.frames += 1

    def close(self) -> Path:
        return self.path
