"""Generated assets: every category, distinct shapes, sane meshes, the same bytes for the same text and seed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.assetgen.silhouette import overlap, silhouette
from tokenworld.assetgen import AssetError, generate
from tokenworld.assetgen.recipes import ORGANIC, RECIPES
from tokenworld.bench.assets import TEXTS


@pytest.fixture(scope="module")
def assets():
    return {(c, seed): generate(TEXTS[c], seed=seed) for c in RECIPES for seed in (0, 1)}


def test_every_category_has_a_description_read_as_itself(assets):
    """The bench's description of each category is read as that category (parser and recipes agree)."""
    assert set(TEXTS) == set(RECIPES)
    for (category, _), asset in assets.items():
        assert asset.spec.category == category


def test_meshes_are_non_empty_closed_grounded_and_coloured(assets):
    """Each mesh has triangles, is closed, stands on z = 0, has real-world bounds, outward normals and colours."""
    for (category, _), asset in assets.items():
        mesh = asset.mesh
        assert len(mesh.faces) >= 12, category
        assert mesh.is_watertight, category  # every part is a closed solid
        assert abs(mesh.bounds[0, 2]) < 1e-6, category
        assert 0.05 < mesh.extents.max() < 20.0, (category, mesh.extents)
        assert np.isfinite(mesh.vertices).all()
        bodies = mesh.split(only_watertight=False)
        assert all(b.volume > 0 for b in bodies), category  # every part wound outwards: no face culled wrongly
        colors = np.asarray(mesh.visual.vertex_colors)
        assert colors.shape == (len(mesh.vertices), 4)
        assert colors[:, :3].std() > 0 or category in ("crate",), category  # more than one colour
        lod1 = len(asset.lod(1).faces)
        assert lod1 <= len(mesh.faces) and (lod1 <= 0.65 * len(mesh.faces) or len(mesh.faces) < 100), category


def test_categories_look_different_from_each_other(assets):
    """Silhouettes (front, side, three-quarter) of any two categories overlap less than 0.8, at two seeds."""
    for seed in (0, 1):
        shapes = {c: silhouette(assets[(c, seed)].mesh) for c in RECIPES}
        for a, b in itertools.combinations(RECIPES, 2):
            assert overlap(shapes[a], shapes[b]) < 0.8, (a, b, seed)


def test_same_text_and_seed_give_the_same_bytes_another_seed_another_mesh():
    """Determinism: a text and seed always make identical GLB bytes (both levels); seeds vary the details."""
    for text in ("a stone well", "an oak tree", "a mossy rock", "a villager"):
        a, b = generate(text, seed=7), generate(text, seed=7)
        assert a.glb() == b.glb() and a.glb(1) == b.glb(1)
        assert generate(text, seed=8).glb() != a.glb()


def test_people_take_the_tint_on_their_clothes_only():
    """A person's clothes carry alpha 1 (the viewer's tint), skin and hair alpha 0; props carry alpha 0."""
    alpha = np.asarray(generate("a person").mesh.visual.vertex_colors)[:, 3]
    assert set(np.unique(alpha)) == {0, 255}
    assert (np.asarray(generate("a hut").mesh.visual.vertex_colors)[:, 3] == 0).all()


def test_words_change_the_mesh():
    """Size, material, colour and parts words reach the mesh."""
    small, large = generate("a small hut"), generate("a large hut")
    assert large.mesh.extents.max() > small.mesh.extents.max() * 1.5
    plain, railed = generate("a wooden footbridge"), generate("a wooden footbridge with rails")
    assert railed.mesh.extents[2] > plain.mesh.extents[2] + 0.5
    red = np.asarray(generate("a red stall").mesh.visual.vertex_colors)[:, :3]
    assert (red == np.round(np.array([0.75, 0.18, 0.15]) * 255)).all(axis=1).any()


def test_organic_shapes_are_single_closed_surfaces():
    """Rocks and bushes are one marching-cubes surface: closed, genus 0."""
    for text in ("a rock", "a bush"):
        mesh = generate(text, seed=3).mesh
        assert mesh.is_watertight and mesh.euler_number == 2
    assert ORGANIC <= set(RECIPES)


def test_bad_seed_and_detail_are_clear_errors():
    """Seeds out of range and unknown detail names say what is allowed."""
    for seed in (-1, 2**32, 1.5, "3", True):
        with pytest.raises(AssetError, match="whole number"):
            generate("a hut", seed=seed)
    with pytest.raises(AssetError, match="low, default, high"):
        generate("a hut", detail="ultra")
    with pytest.raises(AssetError, match="level of detail"):
        generate("a hut").lod(2)
