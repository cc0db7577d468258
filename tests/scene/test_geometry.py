"""Zone geometry: half-open rectangles, even-odd polygons, sampling, self-intersection."""

from __future__ import annotations

import numpy as np
import pytest

from tokenworld.scene.geometry import (
    points_in_polygon,
    points_in_rect,
    points_in_zone,
    polygon_area,
    polygon_self_intersects,
    sample_in_rect,
    sample_in_zone,
    zone_bounds,
    zone_membership,
    zone_polygon,
)
from tokenworld.scene.schema import Zone

SQUARE = (2.0, 3.0, 12.0, 9.0)
CONCAVE = [(0.0, 0.0), (30.0, 0.0), (30.0, 30.0), (20.0, 30.0), (20.0, 10.0), (10.0, 10.0), (10.0, 30.0), (0.0, 30.0)]
PENTAGON = np.array([(np.cos(a), np.sin(a)) for a in np.pi / 2 + 2 * np.pi * np.arange(5) / 5])


def test_square_polygon_matches_rect_on_interior_points():
    """`points_in_polygon` on a square agrees with `points_in_rect` away from the edges."""
    rng = np.random.default_rng(0)
    pts = rng.uniform(-5.0, 20.0, size=(5000, 2)).astype(np.float32)
    x0, y0, x1, y1 = SQUARE
    off_edge = (np.minimum(np.abs(pts[:, 0, None] - [x0, x1]), 1).min(axis=1) > 1e-3) & (
        np.minimum(np.abs(pts[:, 1, None] - [y0, y1]), 1).min(axis=1) > 1e-3
    )
    pts = pts[off_edge]
    poly = zone_polygon(Zone(name="sq", rect=SQUARE))
    in_rect = points_in_rect(pts, SQUARE)
    assert np.array_equal(points_in_polygon(pts, poly), in_rect)
    assert 0 < in_rect.sum() < len(pts)


def test_rect_is_half_open():
    """A rectangle holds its lower edges and not its upper edges."""
    pts = np.array([[2.0, 3.0], [12.0, 5.0], [5.0, 9.0], [11.999, 8.999], [1.999, 5.0]], dtype=np.float32)
    assert points_in_rect(pts, SQUARE).tolist() == [True, False, False, True, False]


def test_concave_polygon_even_odd():
    """Points in the notch of a U-shaped polygon are outside; points in its arms are inside."""
    pts = np.array([[5.0, 20.0], [25.0, 20.0], [15.0, 20.0], [15.0, 5.0], [35.0, 5.0]], dtype=np.float32)
    assert points_in_polygon(pts, np.array(CONCAVE)).tolist() == [True, True, False, True, False]


@pytest.mark.parametrize(
    "zone",
    [
        Zone(name="r", rect=SQUARE),
        Zone(name="u", polygon=CONCAVE),
        Zone(name="tri", polygon=[(0.0, 0.0), (4.0, 0.0), (0.0, 0.01)]),
    ],
    ids=["rect", "concave", "thin-triangle"],
)
def test_sample_in_zone_stays_inside(zone):
    """Every point `sample_in_zone` draws lies inside the zone, and exactly n are drawn."""
    rng = np.random.default_rng(1)
    pts = sample_in_zone(rng, zone, 2000)
    assert pts.shape == (2000, 2) and pts.dtype == np.float32
    assert points_in_zone(pts, zone).all()


def test_sample_in_zone_zero_points():
    """Asking for no points returns an empty (0, 2) array."""
    assert sample_in_zone(np.random.default_rng(0), Zone(name="u", polygon=CONCAVE), 0).shape == (0, 2)


def test_sample_in_rect_never_reaches_upper_edge():
    """float32 rounding never puts a sampled point on the open upper edge."""
    rect = (0.0, 0.0, 1e-6, 1e-6)
    pts = sample_in_rect(np.random.default_rng(2), rect, 10000)
    assert points_in_rect(pts, rect).all()


def test_bow_tie_self_intersects():
    """A bow-tie (two edges crossing in the middle) self-intersects."""
    assert polygon_self_intersects(np.array([(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0)]))


def test_convex_pentagon_does_not_self_intersect():
    """A convex pentagon is simple."""
    assert not polygon_self_intersects(PENTAGON)


def test_pentagram_self_intersects():
    """The pentagon's vertices visited in star order cross themselves."""
    assert polygon_self_intersects(PENTAGON[[0, 2, 4, 1, 3]])


@pytest.mark.parametrize(
    "poly",
    [
        CONCAVE,
        [(0, 0), (5, 0), (5, 2), (4, 2), (4, 1), (3, 1), (3, 2), (2, 2), (2, 1), (1, 1), (1, 2), (0, 2)],
        [(0, 0), (1, 0), (0, 1)],
    ],
    ids=["U", "comb", "triangle"],
)
def test_simple_polygons_with_collinear_edges_do_not_self_intersect(poly):
    """Regression: simple polygons whose separate edges lie on one line are not flagged."""
    assert not polygon_self_intersects(np.array(poly, dtype=np.float64))


@pytest.mark.parametrize(
    "poly",
    [
        [(0, 0), (3, 0), (3, 1), (2, 1), (2, 0), (1, 0), (1, 1), (0, 1)],  # edges overlap along y = 0
        [(0, 0), (2, 0), (2, 2), (1, 0), (0, 2)],  # a vertex touches another edge
    ],
    ids=["overlapping-collinear", "touching-vertex"],
)
def test_overlapping_or_touching_edges_self_intersect(poly):
    """Edges that overlap along one line or touch at a vertex count as intersecting."""
    assert polygon_self_intersects(np.array(poly, dtype=np.float64))


def test_polygon_area_and_bounds():
    """Shoelace area and bounds of a rectangle zone and a polygon zone."""
    assert polygon_area(zone_polygon(Zone(name="r", rect=SQUARE))) == pytest.approx(60.0)
    assert polygon_area(np.array(CONCAVE)) == pytest.approx(900.0 - 200.0)
    assert zone_bounds(Zone(name="u", polygon=CONCAVE)) == (0.0, 0.0, 30.0, 30.0)


def test_later_zone_wins_membership():
    """Where zones overlap the later one wins; points in no zone get -1."""
    zones = [Zone(name="all", rect=(0.0, 0.0, 10.0, 10.0)), Zone(name="inner", rect=(4.0, 4.0, 6.0, 6.0))]
    pts = np.array([[1.0, 1.0], [5.0, 5.0], [11.0, 1.0]], dtype=np.float32)
    assert zone_membership(pts, zones).tolist() == [0, 1, -1]
