"""Map layout geometry: text measured with the installed fonts, labels without collisions, the emptiest
corner, parallel routes side by side, and the checks of a map's extent."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from kzreport import geo, maplayout
from kzreport.maplayout import LabelRequest, offset_parallel, overlaps, place_labels, text_width, wrap_text

LATIN = ("Noto Sans", "Noto Sans CJK SC")
HANS = ("Noto Sans CJK SC", "Noto Sans")


def test_text_is_measured_with_the_fonts_metrics():
    # Han characters are a full em in Noto Sans CJK; Latin letters differ by letter and weight.
    assert text_width("皎漂", HANS, 10) == pytest.approx(20.0)
    assert text_width("iiii", LATIN, 10) < text_width("WWWW", LATIN, 10)
    assert text_width("Lubmin", LATIN, 10, bold=True) > text_width("Lubmin", LATIN, 10)
    assert text_width("Lubmin", LATIN, 20) == pytest.approx(2 * text_width("Lubmin", LATIN, 10))
    assert text_width("ab", LATIN, 10, spacing_px=3) == pytest.approx(text_width("ab", LATIN, 10) + 6)
    # Świnoujście draws from Noto Sans (it has the accents): narrower than a CJK face's full-width fallback.
    assert text_width("Świnoujście", LATIN, 10) < 10 * 11 * 0.7


@pytest.mark.parametrize("text, families", [
    ("Basemap: Natural Earth (public domain); routes: Wikipedia, Global Energy Monitor, see Sources.", LATIN),
    ("底图：Natural Earth（公有领域）；线路：Wikipedia、Global Energy Monitor、新华社、阿纳多卢通讯社，见“来源”。", HANS),
])
def test_wrapped_lines_fit_and_keep_closing_punctuation(text, families):
    lines = wrap_text(text, families, 11, 200)
    assert len(lines) >= 2
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(text_width(line, families, 11) <= 200 for line in lines)
    assert not any(line[0] in "、，。；：）”,.;:)" for line in lines)


def _requests(points, width=40.0, height=10.0):
    """Return a label request per point, in order of importance."""
    return [LabelRequest(f"p{i}", x, y, width, height, 5.0) for i, (x, y) in enumerate(points)]


def _marker(x, y, r=3.0):
    return x - r, y - r, x + r, y + r


def test_labels_never_overlap_each_other_points_or_obstacles():
    # A tight cluster (like Lubmin, Świnoujście and Goleniów) and a point under the legend.
    points = [(100, 100), (108, 104), (112, 96), (95, 110), (104, 90), (300, 50)]
    legend = (250, 0, 400, 60)
    markers = [_marker(*p) for p in points]
    placed, dropped = place_labels(_requests(points), [*markers, legend], (0, 0, 400, 200), pad=1.0)
    assert sorted([label.key for label in placed] + dropped) == sorted(f"p{i}" for i in range(len(points)))
    boxes = [label.box for label in placed]
    for i, a in enumerate(boxes):
        assert not any(overlaps(a, b) for b in boxes[i + 1:])
        assert not any(overlaps(a, m) for m in markers)
        assert not overlaps(a, legend)
    assert len(placed) >= 4  # the cluster is labelled, not emptied


def test_labels_are_dropped_least_important_first_and_deterministically():
    points = [(50, 50), (52, 50), (54, 50), (56, 50)]
    frame = (0, 0, 120, 100)
    first = place_labels(_requests(points, width=60), [_marker(*p) for p in points], frame)
    second = place_labels(_requests(points, width=60), [_marker(*p) for p in points], frame)
    assert first == second
    placed, dropped = first
    assert dropped and dropped == [f"p{i}" for i in range(len(points) - len(dropped), len(points))]


def test_a_label_crosses_no_route_when_a_side_is_free():
    route = [((100, 0), (100, 200))]  # a vertical line just right of the point
    request = LabelRequest("a", 95, 100, 40, 10, 4)
    (label,), _ = place_labels([request], [], (0, 0, 200, 200), route)
    assert label.side == "w" and label.box[2] < 95


def test_corner_with_least_content_takes_the_legend():
    segments = [((0, 0), (100, 100)), ((300, 0), (400, 0))]  # routes through the top left and along the top right
    corner = maplayout.least_hidden_corner((80, 40), (400, 200), [(390, 190)], segments, 1000.0)
    assert corner == "bottomleft"
    assert maplayout.corner_box("bottomleft", 80, 40, (400, 200)) == (0, 160, 80, 200)


def test_a_label_covers_no_route_when_a_shifted_position_is_free():
    # Routes pass right, left, above and below the point: no side of the eight is clear, but a position
    # slid down beside the point is (the Lubmin case: a line beside, labels and markers around).
    segments = [((60, 95), (60, 130)), ((0, 104), (200, 104)), ((20, 80), (20, 130)), ((0, 88), (200, 88))]
    request = LabelRequest("a", 55, 100, 30, 10, 4)
    assert all(maplayout.route_cover(maplayout.candidate_box(request, side), segments, 1.0) > 0
               for side in maplayout.SIDES)
    (label,), _ = place_labels([request], [], (0, 0, 200, 200), segments)
    assert maplayout.route_cover(label.box, segments, 1.0) == 0.0, label
    # Without the free position, the label takes the one covering the least route, and is not dropped.
    crowded = [*segments, ((0, 115), (200, 115))]
    (label,), dropped = place_labels([request], [], (0, 0, 200, 200), crowded)
    assert not dropped
    least = min(maplayout.route_cover(box, crowded, 1.0) for _, box in maplayout.candidates(request))
    assert maplayout.route_cover(label.box, crowded, 1.0) == least > 0


def test_route_cover_measures_the_length_under_a_label():
    assert maplayout.route_cover((10, 10, 50, 20), [((0, 15), (100, 15))], 1.0) == pytest.approx(44.0)
    assert maplayout.route_cover((10, 10, 50, 20), [((0, 30), (100, 30))], 1.0) == 0.0


def test_two_blocks_take_the_corners_that_hide_nothing():
    viewport = (400, 200)
    # A point at the top left, a route along the bottom right and one into the top right: the legend fits
    # only the top right, and the foot only the bottom left in its narrower, taller shape.
    segments = [((130, 190), (400, 190)), ((300, 0), (300, 40))]
    points = [(20, 20)]

    def cost(box):
        return maplayout.hidden_content(box, points, segments, 1000.0)

    def shape(width, height):
        return lambda corner: [maplayout.corner_box(corner, width, height, viewport)]

    legend = [shape(90, 60)]
    foot = [shape(200, 30), shape(125, 45)]
    (c1, i, c2, j, hidden), *rest = maplayout.arrange_corners(legend, foot, cost)
    assert (c1, c2, j, hidden) == ("topright", "bottomleft", 1, 0.0)
    assert all(r[0] != r[2] for r in rest) and [r[4] for r in rest] == sorted(r[4] for r in rest)
    assert maplayout.arrange_corners(legend, foot, cost) == maplayout.arrange_corners(legend, foot, cost)


def test_stacked_blocks_sit_on_each_other_from_the_corner():
    bottom = maplayout.stacked_boxes("bottomright", [(100, 30), (50, 20)], (400, 200))
    assert bottom == [(300, 170, 400, 200), (350, 150, 400, 170)]
    top = maplayout.stacked_boxes("topleft", [(100, 30), (50, 20)], (400, 200))
    assert top == [(0, 0, 100, 30), (0, 30, 50, 50)]


def _distance(p, line):
    """Return the distance from p to a polyline."""
    best = math.inf
    for (ax, ay), (bx, by) in zip(line, line[1:]):
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / (dx * dx + dy * dy)))
        best = min(best, math.hypot(p[0] - ax - t * dx, p[1] - ay - t * dy))
    return best


@pytest.mark.parametrize("reverse", [False, True])
def test_coinciding_routes_are_drawn_side_by_side(reverse):
    oil = [(0, 0), (200, 100), (400, 100)]
    gas = list(reversed(oil)) if reverse else list(oil)
    far = [(0, 300), (400, 300)]
    moved_oil, moved_gas, moved_far = \
        offset_parallel([oil, gas, far], [4, 4, 4], 2)
    assert moved_far == far  # a route alone is left as drawn
    spacing = 4 + 2
    # Along the middle of the shared path the two lines are a full spacing apart, on opposite sides.
    for p in moved_oil:
        if 60 < p[0] < 340:
            assert _distance(p, moved_gas) >= spacing - 0.3
            assert _distance(p, oil) == pytest.approx(spacing / 2, abs=0.3)
    # At the ends they meet their terminals again.
    assert math.dist(moved_oil[0], oil[0]) < 0.5 and math.dist(moved_oil[-1], oil[-1]) < 0.5


def test_routes_that_merely_cross_are_not_bent():
    a = [(0, 100), (400, 100)]
    b = [(200, 0), (200, 200)]
    assert offset_parallel([a, b], [4, 4], 2) == [a, b]


def test_offsets_are_deterministic():
    lines = [[(0, 0), (100, 5), (300, 0)], [(0, 2), (100, 6), (300, 1)], [(300, 3), (0, 3)]]
    assert offset_parallel(lines, [4, 3, 5], 2) == offset_parallel(lines, [4, 3, 5], 2)


def _spec(south, west, north, east, places=(), pipelines=()):
    """Return the parts of a map definition that ``geo.map_problems`` reads."""
    return SimpleNamespace(bounds=SimpleNamespace(south=south, west=west, north=north, east=east),
                           places=[SimpleNamespace(name=n, lat=la, lon=lo) for n, la, lo in places],
                           pipelines=list(pipelines))


def test_map_checks():
    assert geo.map_problems(_spec(15, 91, 27, 104, [("Kyaukphyu", 19.4, 93.5)])) == []
    (loc, message), = geo.map_problems(_spec(19.40, 93.50, 19.403, 93.504, [("Kyaukphyu", 19.401, 93.501)]))
    assert loc == ("bounds",) and "km" in message
    (loc, message), = geo.map_problems(_spec(15, 91, 27, 104, [("Kunming", 25.0, 102.7), ("Beijing", 39.9, 116.4)]))
    assert loc == ("places", 1) and "Beijing" in message and "outside" in message
    (loc, message), = geo.map_problems(_spec(-40, -140, -30, -125))  # the South Pacific, no routes
    assert loc == ("bounds",) and "no land" in message
    assert geo.map_problems(_spec(-40, -140, -30, -125, pipelines=[object()])) == []
    # Across the antimeridian a place at -175 lies inside 170..-170.
    assert geo.map_problems(_spec(50, 170, 60, -170, [("Adak", 51.9, -176.6)])) == []


def test_a_long_name_splits_at_a_space_into_even_lines():
    measure = lambda text: text_width(text, LATIN, 10, bold=True)  # noqa: E731
    assert maplayout.two_lines("Wilhelmshaven LNG terminal", measure) == ("Wilhelmshaven", "LNG terminal")
    # Words in Han text keep together when the lines are not much less even for it.
    hant = lambda text: text_width(text, ("Noto Sans CJK TC", "Noto Sans"), 10, bold=True)  # noqa: E731
    assert maplayout.two_lines("Coral Sul 浮式液化天然氣船", hant) == ("Coral Sul", "浮式液化天然氣船")
    # Han text alone breaks between characters, never before closing punctuation.
    first, second = maplayout.two_lines("马德岛原油码头（皎漂）", lambda t: text_width(t, HANS, 10))
    assert first + second == "马德岛原油码头（皎漂）" and not second.startswith("）")
    assert maplayout.two_lines("Lubmin", measure) is None


def test_a_label_slid_toward_another_point_reads_as_that_ones():
    own, other = (100.0, 100.0), (40.0, 100.0)
    beside = (108.0, 95.0, 150.0, 105.0)  # east of its point
    slid = (10.0, 108.0, 96.0, 118.0)  # south-west, its middle under the other point
    assert maplayout.ambiguity(beside, own, [own, other]) == 0
    assert maplayout.ambiguity(slid, own, [own, other]) > 20


def test_a_long_label_goes_on_two_lines_beside_its_point_rather_than_slid_to_another():
    # The one-line positions are blocked right and left by markers, or would sit under the other point.
    own, other = (200.0, 100.0), (120.0, 100.0)
    request = LabelRequest("long", *own, 160.0, 10.0, 5.0, wrapped=(84.0, 20.0))
    blockers = [_marker(*other), (206, 92, 330, 99.5), (40, 92, 194, 99.5), (120, 101, 330, 104)]
    placed, dropped = place_labels([request, LabelRequest("short", *other, 30.0, 10.0, 5.0)], blockers,
                                   (0, 0, 400, 200), pad=1.0)
    label = next(label for label in placed if label.key == "long")
    assert label.wrapped and label.box[3] - label.box[1] == pytest.approx(20.0)
    assert maplayout.ambiguity(label.box, own, [own, other]) == 0
