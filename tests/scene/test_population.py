"""`with_agents`: resizing a scene's population while keeping group proportions."""

from __future__ import annotations

import pytest

from tokenworld.errors import TokenWorldError
from tokenworld.scene import Scene
from tokenworld.scene.population import with_agents
from tokenworld.scene.validate import MAX_AGENTS


def scene_with(counts: list[int]) -> Scene:
    """A valid scene with one group per count, all spawning in one area."""
    groups = [{"name": f"g{i}", "count": c, "spawn_area": [0.0, 0.0, 10.0, 10.0]} for i, c in enumerate(counts)]
    return Scene.from_dict({"name": "pop", "groups": groups})


@pytest.mark.parametrize("n", [0, 1, 2, 7, 10, 1001, 999_983])
def test_split_sums_exactly_and_is_proportional(n):
    """Counts add up to exactly n and each is within one of its exact share."""
    counts = [1, 2, 3, 7]
    out = with_agents(scene_with(counts), n)
    got = [g.count for g in out.groups]
    assert sum(got) == n and out.agent_count == n
    for c, g in zip(counts, got, strict=True):
        assert abs(g - n * c / sum(counts)) < 1


def test_exact_multiple_keeps_ratios():
    """When n is a multiple of the total the ratios are kept exactly."""
    assert [g.count for g in with_agents(scene_with([10, 30, 60]), 1000).groups] == [100, 300, 600]


def test_original_scene_is_unchanged():
    """`with_agents` returns a copy and leaves the given scene alone."""
    scene = scene_with([5, 5])
    out = with_agents(scene, 100)
    assert [g.count for g in scene.groups] == [5, 5] and out is not scene
    assert [g.name for g in out.groups] == ["g0", "g1"]


def test_all_empty_groups_split_equally():
    """Groups that all have count 0 share the new total equally."""
    assert [g.count for g in with_agents(scene_with([0, 0, 0]), 7).groups] == [3, 2, 2]


@pytest.mark.parametrize("n", [-1, -100, MAX_AGENTS + 1])
def test_rejects_out_of_range_totals(n):
    """A negative total or one above MAX_AGENTS is rejected with a message."""
    with pytest.raises(TokenWorldError, match="--agents must be between 0 and"):
        with_agents(scene_with([1]), n)


def test_rejects_scene_without_groups():
    """A scene with no groups cannot be resized."""
    with pytest.raises(TokenWorldError, match=r"has no agent groups to resize; add a \[\[groups\]\] entry"):
        with_agents(Scene.from_dict({"name": "empty"}), 10)
