"""Terrain heights: a smooth, seeded height field sampled anywhere in numpy."""

from __future__ import annotations

import numpy as np

from tokenworld.scene.schema import Terrain


def heights(terrain: Terrain, xy: np.ndarray) -> np.ndarray:
    """Ground height (m) at each (x, y) row of `xy`; flat terrain is 0 everywhere."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if terrain.kind == "flat" or terrain.height == 0:
        return np.zeros(len(xy), dtype=np.float32)
    rng = np.random.default_rng(terrain.seed)
    # A sum of a few randomly oriented waves: smooth, periodic-free, cheap.
    waves = 6
    angles = rng.uniform(0, np.pi, waves)
    freqs = (2 * np.pi / terrain.scale) * rng.uniform(0.6, 1.4, waves)
    phases = rng.uniform(0, 2 * np.pi, waves)
    dirs = np.stack([np.cos(angles), np.sin(angles)], axis=1) * freqs[:, None]
    h = np.sin(xy @ dirs.T + phases).sum(axis=1) / waves
    return ((h + 1) * 0.5 * terrain.height).astype(np.float32)
