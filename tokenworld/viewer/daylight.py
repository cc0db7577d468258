"""Time of day for the viewer's light: sun direction and colours from the sim clock."""

from __future__ import annotations

import math

import numpy as np


class Daylight:
    """Time of day from the sim clock: one simulated minute is one hour, the first tick at 9:00."""

    START_HOUR = 9.0

    def hour(self, sim_time: float) -> float:
        return (self.START_HOUR + sim_time / 60.0) % 24.0

    def hour_text(self, sim_time: float) -> str:
        h = self.hour(sim_time)
        return f"{int(h):02d}:{int((h % 1) * 60):02d}"

    def light(self, sim_time: float) -> dict[str, tuple[float, float, float]]:
        """Sun direction and colours for `lit.frag`, and the sky's background colour."""
        h = self.hour(sim_time)
        angle = (h - 6.0) / 12.0 * math.pi  # 0 at sunrise, pi at sunset
        elev = math.sin(angle)
        day = min(max(elev * 2.0 + 0.3, 0.0), 1.0)
        sun_dir = np.array([math.cos(angle), 0.35, max(elev, 0.05) + 0.25])
        sun_dir /= np.linalg.norm(sun_dir)
        warm = 1.0 - min(max(elev, 0.0) * 2.5, 1.0)  # redder near the horizon
        sun = np.array([1.0, 0.95 - 0.25 * warm, 0.85 - 0.45 * warm]) * 0.75 * day
        sky = np.array([0.55, 0.6, 0.7]) * (0.25 + 0.55 * day) + np.array([0.05, 0.05, 0.15]) * (1 - day)
        ground = np.array([0.3, 0.27, 0.22]) * (0.3 + 0.5 * day)
        background = np.array([0.55, 0.7, 0.9]) * (0.15 + 0.85 * day) + np.array([0.02, 0.03, 0.08]) * (1 - day)
        out = {"sun_dir": sun_dir, "sun_color": sun, "sky_color": sky, "ground_color": ground, "background": background}
        return {k: tuple(float(x) for x in v) for k, v in out.items()}
