"""The frame writers: MP4 (H.264, yuv420p), GIF and PNG frames decode to the frames, size and rate given."""

from __future__ import annotations

import av
import numpy as np
import pytest

from tokenworld.errors import TokenWorldError
from tokenworld.record import BackgroundWriter, GifWriter, Mp4Writer, RecordError, open_writer

W, H = 96, 64


def frames(n: int) -> list[np.ndarray]:
    """n frames of a white square moving right over a coloured ramp."""
    out = []
    for i in range(n):
        img = np.zeros((H, W, 3), np.uint8)
        img[:, :, 0] = np.linspace(0, 200, W, dtype=np.uint8)[None]
        img[:, :, 2] = 90
        img[20:40, 4 + 6 * i : 24 + 6 * i] = 255
        out.append(img)
    return out


def decode(path) -> tuple[list[np.ndarray], object]:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        rate = stream.average_rate
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)], rate


def test_mp4_decodes_to_the_frames_size_and_rate_written(tmp_path):
    """An MP4 is H.264 in yuv420p, with as many frames as added, the size and frame rate given, and the pictures."""
    path = tmp_path / "a.mp4"
    with open_writer(path, fps=12, size=(W, H)) as w:
        assert isinstance(w, Mp4Writer)
        for img in frames(8):
            w.add(img)
    got, rate = decode(path)
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert (s.codec_context.name, s.codec_context.pix_fmt) == ("h264", "yuv420p")
    assert len(got) == 8 and got[0].shape == (H, W, 3) and rate == 12
    for a, b in zip(got, frames(8), strict=True):
        assert np.abs(a.astype(int) - b).mean() < 6  # lossy, but the same picture


def test_a_background_writer_writes_the_same_file_and_reports_the_encoders_error(tmp_path):
    """Encoding in a thread of its own gives the very bytes of encoding in the caller's; an encoder's failure
    (here a frame of the wrong size) is raised to the caller, not lost in the thread."""
    direct, queued = tmp_path / "direct.mp4", tmp_path / "queued.mp4"
    with open_writer(direct, fps=12, size=(W, H)) as w:
        for img in frames(8):
            w.add(img)
    w = BackgroundWriter(open_writer(queued, fps=12, size=(W, H)), depth=2)
    buffer = np.zeros((H, W, 3), np.uint8)
    for img in frames(8):
        buffer[...] = img  # one buffer reused by the caller, as a renderer does
        w.add(buffer)
    assert w.close() == queued and w.frames == 8
    assert queued.read_bytes() == direct.read_bytes()
    bad = BackgroundWriter(open_writer(tmp_path / "bad.mp4", fps=12, size=(W, H)))
    bad.add(np.zeros((H + 2, W, 3), np.uint8))
    with pytest.raises(RecordError):
        bad.close()


def test_gif_and_png_frames_hold_every_frame(tmp_path):
    """A GIF has every frame at the size given; .png writes NAME-00000.png ... one exact PNG a frame."""
    gif = open_writer(tmp_path / "a.gif", fps=10, size=(W, H))
    assert isinstance(gif, GifWriter)
    for img in frames(5):
        gif.add(img)
    got, _ = decode(gif.close())
    assert len(got) == 5 and got[0].shape == (H, W, 3)
    assert np.abs(got[4].astype(int) - frames(5)[4]).mean() < 8

    png = open_writer(tmp_path / "shots" / "f.png", fps=10, size=(W, H))
    for img in frames(3):
        png.add(img)
    assert png.close() == tmp_path / "shots" / "f-00000.png"
    files = sorted((tmp_path / "shots").iterdir())
    assert [f.name for f in files] == ["f-00000.png", "f-00001.png", "f-00002.png"]
    assert np.array_equal(decode(files[2])[0][0], frames(3)[2])  # PNG is lossless


def test_bad_output_says_what_to_do(tmp_path):
    """An unknown extension, an odd MP4 size or a frame of the wrong size is a RecordError that says what to do."""
    with pytest.raises(RecordError, match=r"cannot write a '\.avi' file; end the name with \.mp4"):
        open_writer(tmp_path / "a.avi", fps=10, size=(W, H))
    with pytest.raises(RecordError, match="even width and height; 97x64 is odd: use 96x64"):
        open_writer(tmp_path / "a.mp4", fps=10, size=(97, 64))
    w = open_writer(tmp_path / "b.mp4", fps=10, size=(W, H))
    with pytest.raises(RecordError, match="does not match the recording's size 96x64"):
        w.add(np.zeros((10, 10, 3), np.uint8))
    w.close()
    assert issubclass(RecordError, TokenWorldError)
