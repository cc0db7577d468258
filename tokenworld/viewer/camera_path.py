"""Camera path files: keyframes of time, camera position and look-at point, smoothly interpolated.

The format (docs/recording.md), one keyframe a line, seven numbers separated by
spaces or commas; `#` starts a comment::

    # time (s)   position x y z     look-at x y z
    0            50 -60 70           50 50 0
    6            140 40 35           50 50 0
    12           60 150 20           60 60 2

Times are seconds of video, each later than the one before; positions are
metres (x east, y north, z up). Between keyframes the position and the look-at
point follow a cubic curve through the keyframes (Catmull-Rom tangents, so the
camera never stops at a keyframe); before the first and after the last it holds.
Pure numpy, no Panda3D.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tokenworld.record import RecordError

FIELDS = "time, position x y z, look-at x y z"


@dataclass(frozen=True)
class Keyframe:
    time: float  # seconds of video
    position: np.ndarray  # (3,) metres
    look_at: np.ndarray  # (3,) metres
    line: int  # line number in the file (1-based)


class CameraPath:
    """Keyframes read from a camera path file; `at(t)` is the camera's position and look-at point at `t` seconds."""

    def __init__(self, keys: list[Keyframe], source: str = "<camera path>"):
        if len(keys) < 2:
            raise RecordError(
                f"{source}: a camera path needs at least two keyframes (one a line: {FIELDS}); found {len(keys)}."
            )
        self.keys = keys
        self.source = source
        self.times = np.array([k.time for k in keys], np.float64)
        self.points = np.stack([np.concatenate([k.position, k.look_at]) for k in keys])  # (k, 6)
        gaps = np.diff(self.times)
        # Catmull-Rom tangents for uneven times: the slope across each keyframe's neighbours; one-sided at the ends.
        tangents = np.empty_like(self.points)
        tangents[1:-1] = (self.points[2:] - self.points[:-2]) / (self.times[2:] - self.times[:-2])[:, None]
        tangents[0] = (self.points[1] - self.points[0]) / gaps[0]
        tangents[-1] = (self.points[-1] - self.points[-2]) / gaps[-1]
        self.tangents = tangents

    @property
    def duration(self) -> float:
        """The last keyframe's time."""
        return float(self.times[-1])

    @classmethod
    def load(cls, path: str | Path) -> CameraPath:
        """Read a camera path file; a bad line raises `RecordError` naming the file, the line and what is wrong."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RecordError(f"{path}: no such camera path file.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RecordError(f"cannot read the camera path {path}: {exc}.") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str = "<camera path>") -> CameraPath:
        keys: list[Keyframe] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].replace(",", " ").split()
            if not line:
                continue
            where = f"{source}, line {number}"
            if len(line) != 7:
                raise RecordError(f"{where}: a keyframe is 7 numbers ({FIELDS}); found {len(line)}: {raw.strip()!r}.")
            values = []
            for word in line:
                try:
                    v = float(word)
                except ValueError:
                    raise RecordError(f"{where}: {word!r} is not a number (a keyframe is {FIELDS}).") from None
                if not math.isfinite(v):
                    raise RecordError(f"{where}: {word!r} is not a finite number.")
                values.append(v)
            t, pos, look = values[0], np.array(values[1:4]), np.array(values[4:7])
            if t < 0:
                raise RecordError(f"{where}: time {t:g} is negative; times are seconds of video from 0.")
            if keys and t <= keys[-1].time:
                raise RecordError(
                    f"{where}: time {t:g} s is not after the keyframe before it "
                    f"({keys[-1].time:g} s, line {keys[-1].line}); keyframes go in time order."
                )
            if np.allclose(pos, look):
                raise RecordError(f"{where}: the camera's position and its look-at point are the same.")
            keys.append(Keyframe(t, pos, look, number))
        return cls(keys, source)

    def at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """(position, look_at) at `t` seconds: cubic Hermite between keyframes, held outside them."""
        times = self.times
        if t <= times[0]:
            p = self.points[0]
        elif t >= times[-1]:
            p = self.points[-1]
        else:
            i = int(np.searchsorted(times, t, side="right")) - 1
            h = times[i + 1] - times[i]
            s = (t - times[i]) / h
            h00, h10 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s
            h01, h11 = -2 * s**3 + 3 * s**2, s**3 - s**2
            p = (
                h00 * self.points[i]
                + h10 * h * self.tangents[i]
                + h01 * self.points[i + 1]
                + h11 * h * self.tangents[i + 1]
            )
        return p[:3].copy(), p[3:].copy()
