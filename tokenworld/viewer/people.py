"""Agents drawn as people: the generated person near the camera, a 4-triangle wedge far away, a walking bob, and
the item each carries in hand.

All per frame in numpy (no loop over agents). The person mesh's clothes take the
agent's colour (vertex alpha 1), skin and hair keep theirs (alpha 0); built-in
meshes have no colour column and take the colour in full.
"""

from __future__ import annotations

import numpy as np

from tokenworld.scene.schema import ITEMS
from tokenworld.sim.frames import WALKING, Frame
from tokenworld.viewer.layers import InstancedLayer, agent_mesh, box_faces, far_agent_mesh, flat_mesh
from tokenworld.viewer.meshes import Mesh, MeshLibrary, mesh_of_geom

PERSON = "a person"
BOB_HEIGHT = 0.06  # m (times the agent scale) a walking agent's body rises at each step
BOB_RATE = 9.0  # rad/s: |sin| of this gives about 2.9 steps a second
# What a carried item looks like: asset text and the footprint radius (m) it is drawn at in hand.
CARRIED_LOOK = {"wood": ("a log", 0.45), "stone": ("a stone", 0.16), "food": ("a basket", 0.22)}
HAND = np.array([0.12, -0.34, 0.95], np.float32)  # where an item is held: forward, to the right, up (m, facing +x)
ITEM_COLOR = (0.75, 0.6, 0.4)  # the built-in stand-in item's colour
ITEM_DISTANCE = 2.0  # items are drawn for agents within this many times the agents' level-of-detail distance


class Crowd:
    """The agents' layers: `near` (the person, LOD 0), `far` (the wedge) and one layer per carried item."""

    def __init__(self, parent, shader, meshes: MeshLibrary, capacity: int):
        person = meshes.get(PERSON, lod=0) or mesh_of_geom(agent_mesh())
        self.near = InstancedLayer(parent, "agents", person.geom, shader, capacity=capacity)
        self.far = InstancedLayer(parent, "agents-far", far_agent_mesh(), shader, capacity=capacity)
        stand_in = mesh_of_geom(flat_mesh(box_faces(1.0, 1.0, -0.5, 0.5)), rgba=(1.0, 1.0, 1.0, 1.0))
        self.items: dict[int, tuple[InstancedLayer, float]] = {}  # item index -> its layer and scale
        for name, (text, radius) in CARRIED_LOOK.items():
            mesh: Mesh = meshes.get(text, lod=1) or stand_in  # small in hand: the decimated mesh is plenty
            layer = InstancedLayer(parent, f"carried-{name}", mesh.geom, shader, capacity=64)
            self.items[ITEMS.index(name)] = (layer, radius / mesh.radius)

    def draw(
        self, frame: Frame, pos3: np.ndarray, rgbs: np.ndarray, camera: np.ndarray, lod_distance: float, now: float
    ) -> None:
        """Agents at `pos3` in colours `rgbs` (r, g, b, scale); nearer than `lod_distance` to `camera` in full."""
        n = frame.n
        scale = rgbs[:, 3] if n else np.zeros(0, np.float32)
        xyzh = np.empty((n, 4), np.float32)
        xyzh[:, :3] = pos3
        xyzh[:, 3] = frame.heading
        walking = frame.state[:n] == WALKING
        if walking.any():
            phase = np.flatnonzero(walking) * np.float32(2.399)
            xyzh[walking, 2] += (
                BOB_HEIGHT * scale[walking] * np.abs(np.sin(np.float32(BOB_RATE * (now % 1000.0)) + phase))
            )
        d2 = ((pos3 - camera) ** 2).sum(axis=1)
        near = d2 < np.float32(lod_distance) ** 2
        if near.all():
            self.near.update(xyzh, rgbs)
            self.far.update(xyzh[:0], rgbs[:0])
        else:
            self.near.update(xyzh[near], rgbs[near])
            self.far.update(xyzh[~near], rgbs[~near])
        carry = frame.carry if len(frame.carry) == n else np.full(n, -1, np.int8)
        carry = np.where(d2 < np.float32(ITEM_DISTANCE * lod_distance) ** 2, carry, -1)  # too small to see farther
        self._draw_items(carry, xyzh, scale)

    def _draw_items(self, carry: np.ndarray, xyzh: np.ndarray, scale: np.ndarray) -> None:
        """Each carried item at its agent's hand, turned with the agent."""
        for item, (layer, item_scale) in self.items.items():
            rows = np.flatnonzero(carry == item) if len(carry) else np.zeros(0, np.int64)
            h = xyzh[rows, 3]
            c, s = np.cos(h), np.sin(h)
            hand = HAND * scale[rows, None]
            out = np.empty((len(rows), 4), np.float32)
            out[:, 0] = xyzh[rows, 0] + c * hand[:, 0] - s * hand[:, 1]
            out[:, 1] = xyzh[rows, 1] + s * hand[:, 0] + c * hand[:, 1]
            out[:, 2] = xyzh[rows, 2] + hand[:, 2]
            out[:, 3] = h
            rgbs = np.empty((len(rows), 4), np.float32)
            rgbs[:, :3] = ITEM_COLOR
            rgbs[:, 3] = item_scale * scale[rows]
            layer.update(out, rgbs)
