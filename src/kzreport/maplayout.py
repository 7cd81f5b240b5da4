"""Geometry of a printed map's layout, in the pixels of the page that draws it: text measured with the
installed fonts, labels placed without collisions, the corner that hides the least, parallel routes
drawn side by side.

Everything here is plain geometry on (x, y) pixel coordinates (y down), deterministic (no randomness,
ties broken by input order) and independent of Folium, so it is quick to test.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, replace
from functools import cache

Box = tuple[float, float, float, float]
"""(left, top, right, bottom) in pixels."""
Point = tuple[float, float]


# --- text measured with the fonts the browser uses ---------------------------------------------------


@cache
def _faces(families: tuple[str, ...], bold: bool) -> tuple[tuple[dict[int, int], int], ...]:
    """Return the advance tables of the installed faces of ``families``, in order."""
    from .fonts import face_table, find_face

    faces = []
    for family in families:
        face = find_face(family, bold)
        if face is not None:
            table = face_table(face)  # read once per process, kept on disk
            faces.append((table.advances, table.units_per_em))
    return tuple(faces)


def char_width(ch: str, faces: tuple[tuple[dict[int, int], int], ...]) -> float:
    """Return a character's advance in ems from the first face that has it (as the browser falls back);
    a full em for wide characters no face has, 0.6 em for others."""
    code = ord(ch)
    for advances, units in faces:
        if code in advances:
            return advances[code] / units
    return 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6


def text_width(text: str, families: tuple[str, ...], font_px: float, bold: bool = False,
               spacing_px: float = 0.0) -> float:
    """Return how wide ``text`` sets in pixels in the first installed of ``families`` (per character, with
    fallback), with ``spacing_px`` of letter spacing after each character. Kerning is left out, so the
    width is at most a little more than the browser's."""
    faces = _faces(tuple(families), bold)
    return sum(char_width(ch, faces) for ch in text) * font_px + len(text) * spacing_px


CLOSERS = "[、，。；：！？）」』〉》”’,.;:!?)]"
"""Punctuation that must not start a line: it stays with the character or word before it."""


def wrap_text(text: str, families: tuple[str, ...], font_px: float, max_px: float, bold: bool = False) -> list[str]:
    """Return ``text`` broken into lines no wider than ``max_px`` where possible: between words, and
    between any two wide (Han) characters; a single word wider than the limit keeps its own line."""
    # A token is a word with the spaces after it, or one wide character with the punctuation that closes on it.
    tokens = re.findall(CLOSERS.join(("[\u2E80-\uFFEF]", "*\\s*|[^\\s\u2E80-\uFFEF]+", "*\\s*|\\s+")), text)
    lines: list[str] = []
    current = ""
    for token in tokens:
        candidate = current + token
        if current and text_width(candidate.rstrip(), families, font_px, bold) > max_px:
            lines.append(current.rstrip())
            current = token.lstrip()
        else:
            current = candidate
    if current.strip():
        lines.append(current.rstrip())
    return lines or [""]


# --- boxes ----------------------------------------------------------------------------------------------


def overlaps(a: Box, b: Box) -> bool:
    """Return whether two boxes overlap (touching edges do not)."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def grow(box: Box, by: float) -> Box:
    """Return ``box`` grown by ``by`` pixels on every side."""
    return box[0] - by, box[1] - by, box[2] + by, box[3] + by


def inside(box: Box, frame: Box) -> bool:
    """Return whether ``box`` lies wholly inside ``frame``."""
    return box[0] >= frame[0] and box[1] >= frame[1] and box[2] <= frame[2] and box[3] <= frame[3]


def clip_segment(box: Box, a: Point, b: Point) -> tuple[float, float] | None:
    """Return the parameters (t0, t1) in [0, 1] of the part of segment a-b inside a box, or None when
    the segment misses it (Liang-Barsky clipping)."""
    (x0, y0), (x1, y1) = a, b
    low, high = 0.0, 1.0
    for p, q in ((x0 - x1, x0 - box[0]), (x1 - x0, box[2] - x0), (y0 - y1, y0 - box[1]), (y1 - y0, box[3] - y0)):
        if p == 0:
            if q < 0:
                return None
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return None
    return low, high


def segment_crosses(box: Box, a: Point, b: Point) -> bool:
    """Return whether the segment a-b passes through a box."""
    return clip_segment(box, a, b) is not None


def clipped_length(box: Box, a: Point, b: Point) -> float:
    """Return the length of the part of segment a-b inside a box."""
    part = clip_segment(box, a, b)
    return 0.0 if part is None else (part[1] - part[0]) * math.hypot(b[0] - a[0], b[1] - a[1])


# --- point labels ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelRequest:
    """A label to place beside a point: its text's box size, the point, and how far the text keeps from it."""

    key: str
    x: float
    y: float
    width: float
    height: float
    gap: float
    """Pixels between the point's centre and the nearest edge of the label."""
    wrapped: tuple[float, float] | None = None
    """Width and height of the label set on two lines (a long name), tried after the one-line sides."""


@dataclass(frozen=True)
class PlacedLabel:
    """Where a label went: its box, the side of the point it is on (``e``, ``ne``, ``w``, ...) and
    whether it is set on two lines."""

    key: str
    box: Box
    side: str
    wrapped: bool = False


SIDES = ("e", "ne", "se", "w", "nw", "sw", "n", "s")
"""Positions tried around a point, best first: right of the point, then the diagonals, left, above, below
(the usual cartographic preference)."""


def candidate_box(request: LabelRequest, side: str) -> Box:
    """Return the box a label covers on ``side`` of its point."""
    x, y, w, h, g = request.x, request.y, request.width, request.height, request.gap
    diagonal = g * 0.7  # a diagonal label sits closer, at about the same distance from the point
    if side == "e":
        return x + g, y - h / 2, x + g + w, y + h / 2
    if side == "w":
        return x - g - w, y - h / 2, x - g, y + h / 2
    if side == "n":
        return x - w / 2, y - g - h, x + w / 2, y - g
    if side == "s":
        return x - w / 2, y + g, x + w / 2, y + g + h
    left = x + diagonal if "e" in side else x - diagonal - w
    top = y - diagonal - h if "n" in side else y + diagonal
    return left, top, left + w, top + h


SHIFTS: tuple[tuple[str, float, float], ...] = (
    ("e", 0, -0.5), ("e", 0, 0.5), ("w", 0, -0.5), ("w", 0, 0.5), ("n", 0.3, 0), ("n", -0.3, 0),
    ("s", 0.3, 0), ("s", -0.3, 0), ("e", 0, -0.9), ("e", 0, 0.9), ("w", 0, -0.9), ("w", 0, 0.9),
    ("ne", 0, -0.5), ("nw", 0, -0.5), ("se", 0, 0.5), ("sw", 0, 0.5))
"""Further positions, tried after ``SIDES``: a side's box slid along the point's side by a fraction of the
label's width and height (still touching the point's gap), for a label that would otherwise cover a route
or be dropped in a crowd."""


def candidates(request: LabelRequest) -> list[tuple[str, Box]]:
    """Return (side, box) of every position tried for a label on one line, best first: ``SIDES``, then
    ``SHIFTS``."""
    found = [(side, candidate_box(request, side)) for side in SIDES]
    for side, fx, fy in SHIFTS:
        left, top, right, bottom = candidate_box(request, side)
        dx, dy = fx * request.width, fy * request.height
        found.append((side, (left + dx, top + dy, right + dx, bottom + dy)))
    return found


def positions(request: LabelRequest) -> list[tuple[str, Box, bool]]:
    """Return (side, box, on two lines) of every position tried for a label, best first: the one-line
    ``SIDES``, then the two-line ones (a long name beside its point rather than slid away from it), then
    the one-line ``SHIFTS``."""
    single = [(side, box, False) for side, box in candidates(request)]
    if request.wrapped is None:
        return single
    two = replace(request, width=request.wrapped[0], height=request.wrapped[1])
    return [*single[:len(SIDES)], *((side, candidate_box(two, side), True) for side in SIDES), *single[len(SIDES):]]


def two_lines(text: str, measure) -> tuple[str, str] | None:
    """Return ``text`` split into the two lines of most even width, or None when it has no break; ``measure``
    gives a text's width. Breaks go at a space or between two wide characters, a space preferred unless the
    lines it gives are a quarter wider (a name of words in Han text is not split inside a word)."""
    breaks = [(text[:i].rstrip(), text[i:].lstrip(), 1.0 if text[i] == " " else SPLIT_WORD_COST)
              for i in range(1, len(text))
              if text[i] == " " or (_wide(text[i - 1]) and _wide(text[i]) and not re.match(CLOSERS, text[i]))]
    best = min(((max(measure(a), measure(b)) * cost, a, b) for a, b, cost in breaks if a and b), default=None)
    return best[1:] if best else None


SPLIT_WORD_COST = 1.25
"""How much wider two lines split between Han characters may be than lines split at a space, and still
be chosen."""


def _wide(ch: str) -> bool:
    """Return whether a character is wide (Han, kana, full-width forms): a line may break beside it."""
    return "\u2E80" <= ch <= "\uFFEF"


def place_labels(requests: list[LabelRequest], obstacles: list[Box], frame: Box,
                 segments: list[tuple[Point, Point]] = (), pad: float = 1.0) -> tuple[list[PlacedLabel], list[str]]:
    """Return the labels placed and the keys of those dropped.

    ``requests`` come most important first; each takes the best position (least route covered and
    nearness to another point than its own, ``ambiguity``, then the order of ``positions``) where it lies inside ``frame`` and overlaps no obstacle and no label placed
    before it (boxes grown by ``pad``). A label with no free side may still go in when one label
    already placed can move to another free side to make room; otherwise it is dropped.
    """
    placed: dict[str, PlacedLabel] = {}
    dropped: list[str] = []
    by_key = {r.key: r for r in requests}
    points = [(r.x, r.y) for r in requests]
    for request in requests:
        around = _others(request, obstacles)
        choice = _best_side(request, around, list(placed.values()), frame, segments, pad, points)
        if choice is None:
            choice = _make_room(request, by_key, placed, obstacles, frame, segments, pad, points)
        if choice is None:
            dropped.append(request.key)
        else:
            placed[request.key] = choice
    return [placed[r.key] for r in requests if r.key in placed], dropped


def _others(request: LabelRequest, obstacles: list[Box]) -> list[Box]:
    """Return the obstacles but the label's own point (its marker, a route ending there): the label keeps
    its gap from those by construction, and a diagonal position cuts the corner of their boxes. A larger box
    over the point (the legend) still counts."""
    return [o for o in obstacles if not (o[0] <= request.x <= o[2] and o[1] <= request.y <= o[3]
                                         and o[2] - o[0] <= 2 * request.gap and o[3] - o[1] <= 2 * request.gap)]


def _free(box: Box, obstacles: list[Box], labels: list[PlacedLabel], frame: Box, pad: float) -> bool:
    """Return whether a label box is inside the frame and clear of obstacles and labels."""
    grown = grow(box, pad)
    return (inside(box, frame) and not any(overlaps(grown, o) for o in obstacles)
            and not any(overlaps(grown, label.box) for label in labels))


def _best_side(request: LabelRequest, obstacles: list[Box], labels: list[PlacedLabel], frame: Box,
               segments, pad: float, points: list[Point] = ()) -> PlacedLabel | None:
    """Return the best free position of a label, or None."""
    best: tuple[float, int, PlacedLabel] | None = None
    for rank, (side, box, wrapped) in enumerate(positions(request)):
        if not _free(box, obstacles, labels, frame, pad):
            continue
        score = (route_cover(box, segments, pad) + ambiguity(box, (request.x, request.y), points), rank)
        if best is None or score < best[:2]:
            best = (*score, PlacedLabel(request.key, box, side, wrapped))
    return best[2] if best else None


def box_distance(box: Box, point: Point) -> float:
    """Return the distance from a point to the nearest edge of a box (0 inside it)."""
    dx = max(box[0] - point[0], 0.0, point[0] - box[2])
    dy = max(box[1] - point[1], 0.0, point[1] - box[3])
    return math.hypot(dx, dy)


def ambiguity(box: Box, own: Point, points: list[Point]) -> float:
    """Return by how many pixels another point comes nearer a label box than its own point does, plus half
    the label's height, or nearer the box's middle (0 when its own point is the nearest both ways), rounded
    to a pixel: a label
    slid along its side, or long, must still read as its own point's. Weighed against route covered."""
    others = [p for p in points if p != own]
    if not others:
        return 0.0
    mine = box_distance(box, own) + (box[3] - box[1]) / 2
    nearest = min(box_distance(box, p) for p in others)
    # The eye also pairs a label with the point nearest its middle: one centred under another point is that one's.
    middle = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    centred = math.dist(middle, own) - min(math.dist(middle, p) for p in others)
    return round(max(0.0, mine - nearest, centred))


def route_cover(box: Box, segments, pad: float) -> float:
    """Return how many pixels of route a label box covers: the length of the segments inside it grown by
    twice ``pad`` (a line's half width and its white casing reach that far into the text), rounded to a
    tenth of a pixel so that a position clear of every route compares equal to another."""
    clear = grow(box, 2 * pad)
    return round(sum(clipped_length(clear, a, b) for a, b in segments), 1)


def _make_room(request, by_key, placed: dict[str, PlacedLabel], obstacles, frame, segments, pad,
               points: list[Point] = ()) -> PlacedLabel | None:
    """Return a position for a label made free by moving one placed label to another free side, or None."""
    around = _others(request, obstacles)
    for side, box, wrapped in positions(request):
        if not inside(box, frame) or any(overlaps(grow(box, pad), o) for o in around):
            continue
        blockers = [label for label in placed.values() if overlaps(grow(box, pad), label.box)]
        if len(blockers) != 1:
            continue
        blocker = blockers[0]
        others = [label for label in placed.values() if label.key != blocker.key]
        mine = PlacedLabel(request.key, box, side, wrapped)
        moved = _best_side(by_key[blocker.key], _others(by_key[blocker.key], obstacles), [*others, mine], frame,
                           segments, pad, points)
        if moved is not None:
            placed[blocker.key] = moved
            return mine
    return None


# --- the corner that hides the least -------------------------------------------------------------------


CORNERS = ("topright", "topleft", "bottomright", "bottomleft")
"""Leaflet's corners, in the order preferred when they hide as much."""


def corner_box(corner: str, width: float, height: float, viewport: tuple[float, float]) -> Box:
    """Return the box of a ``width`` × ``height`` block in a corner of the viewport."""
    left = 0.0 if corner.endswith("left") else viewport[0] - width
    top = 0.0 if corner.startswith("top") else viewport[1] - height
    return left, top, left + width, top + height


def hidden_content(box: Box, points: list[Point], segments: list[tuple[Point, Point]], point_weight: float,
                   reach: float = 0.0) -> float:
    """Return how much a box hides: the length of route inside it, plus ``point_weight`` per point inside
    it or within ``reach`` of it (where the point's label would go)."""
    near = grow(box, reach)
    return (sum(clipped_length(box, a, b) for a, b in segments)
            + point_weight * sum(near[0] <= x <= near[2] and near[1] <= y <= near[3] for x, y in points))


def least_hidden_corner(size: tuple[float, float], viewport: tuple[float, float], points, segments,
                        point_weight: float, corners=CORNERS, reach: float = 0.0) -> str:
    """Return the corner where a block of ``size`` hides the least content (ties in the order of ``corners``)."""
    return min(corners, key=lambda c: (hidden_content(corner_box(c, *size, viewport), points, segments,
                                                      point_weight, reach), corners.index(c)))


FOOT_CORNERS = ("bottomright", "bottomleft", "topright", "topleft")
"""Corners for the scale and the credit, in the order preferred when they hide as much: the bottom first."""


def arrange_corners(first: list, second: list, cost, first_corners=CORNERS,
                    second_corners=FOOT_CORNERS) -> list[tuple[str, int, str, int, float]]:
    """Return every way two blocks can go, each in a corner of its own, those that together hide the
    least first: (first's corner, index of its shape, second's corner, index of its shape, what they hide).

    ``first`` and ``second`` list each block's shapes, best first (a block that can wrap narrower and
    taller offers several), each a function from a corner to the boxes the block covers there;
    ``cost(box)`` says how much a box hides. Ties go to the fewest steps down the lists of shapes, then
    the order of the corners, so the order is deterministic.
    """
    costs = {}
    for which, shapes, corners in ((0, first, first_corners), (1, second, second_corners)):
        for index, shape in enumerate(shapes):
            for corner in corners:
                costs[which, index, corner] = sum(cost(box) for box in shape(corner))
    found = []
    for i, _ in enumerate(first):
        for j, _ in enumerate(second):
            for a, c1 in enumerate(first_corners):
                for b, c2 in enumerate(second_corners):
                    if c1 != c2:
                        total = costs[0, i, c1] + costs[1, j, c2]
                        found.append(((total, i + j, a, b, i), (c1, i, c2, j, total)))
    return [arrangement for _, arrangement in sorted(found)]


def stacked_boxes(corner: str, sizes: list[tuple[float, float]], viewport: tuple[float, float]) -> list[Box]:
    """Return the boxes of blocks stacked in a corner, each (width, height) from the corner's edge inward:
    the first at the top of a top corner or at the bottom of a bottom corner."""
    boxes, used = [], 0.0
    for width, height in sizes:
        left, top, right, bottom = corner_box(corner, width, height, viewport)
        shift = used if corner.startswith("top") else -used
        boxes.append((left, top + shift, right, bottom + shift))
        used += height
    return boxes


# --- parallel routes side by side ------------------------------------------------------------------------


def _resample(line: list[Point], step: float) -> list[Point]:
    """Return points along a polyline at most ``step`` apart, its vertices included."""
    points = [line[0]]
    for (x0, y0), (x1, y1) in zip(line, line[1:]):
        n = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / step))
        points += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1)]
    return points


def _nearest(p: Point, line: list[Point], reach: float) -> tuple[float, Point, float] | None:
    """Return (distance, nearest point, how far along the polyline it is) of a polyline to ``p``, or None
    when it is farther than ``reach``."""
    best: tuple[float, Point, float] | None = None
    px, py = p
    along = 0.0
    for (ax, ay), (bx, by) in zip(line, line[1:]):
        dx, dy = bx - ax, by - ay
        length = dx * dx + dy * dy
        if not (min(ax, bx) - reach > px or max(ax, bx) + reach < px or min(ay, by) - reach > py
                or max(ay, by) + reach < py):
            t = 0.0 if length == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length))
            q = (ax + t * dx, ay + t * dy)
            d = math.hypot(px - q[0], py - q[1])
            if d <= reach and (best is None or d < best[0]):
                best = (d, q, along + t * math.sqrt(length))
        along += math.sqrt(length)
    return best


def _normals(points: list[Point]) -> list[Point]:
    """Return the unit normal (left of the direction of travel, y down) at each point of a polyline."""
    normals = []
    for k in range(len(points)):
        (ax, ay), (bx, by) = points[max(0, k - 1)], points[min(len(points) - 1, k + 1)]
        length = math.hypot(bx - ax, by - ay) or 1.0
        normals.append(((by - ay) / length, -(bx - ax) / length))
    return normals


def _bbox(line: list[Point], by: float) -> Box:
    """Return a polyline's box grown by ``by``."""
    xs, ys = [p[0] for p in line], [p[1] for p in line]
    return min(xs) - by, min(ys) - by, max(xs) + by, max(ys) + by


def _smooth(values: list[float], window: int) -> list[float]:
    """Return a moving average of ``values`` over ``window`` samples either side."""
    if window < 1 or not values:
        return values
    prefix = [0.0]
    for v in values:
        prefix.append(prefix[-1] + v)
    n = len(values)
    return [(prefix[min(n, k + window + 1)] - prefix[max(0, k - window)]) / (min(n, k + window + 1) - max(0, k - window))
            for k in range(n)]


def _drop_short_runs(flags: list[bool], shortest: int) -> list[bool]:
    """Return ``flags`` with runs of True shorter than ``shortest`` samples cleared (routes that merely cross)."""
    out = list(flags)
    k = 0
    while k < len(out):
        if out[k]:
            end = k
            while end < len(out) and out[end]:
                end += 1
            if end - k < shortest:
                out[k:end] = [False] * (end - k)
            k = end
        else:
            k += 1
    return out


def offset_parallel(lines: list[list[Point]], widths: list[float], gap: float, step: float = 2.0) -> list[list[Point]]:
    """Return the polylines moved apart where they run closer than their widths and ``gap`` allow.

    Where two routes run within ``(w1 + w2) / 2 + gap`` pixels of each other for a stretch, each moves
    half the shortfall away from the other, to the side it already lies on (or, where they coincide,
    the first route to the left of its direction and the second to the right), so both colours show.
    The offset eases in and out along the route and to nothing at its ends, where routes meet at
    their terminals. Lines that need no offset come back unchanged.
    """
    count = len(lines)
    samples = [_resample(line, step) if len(line) > 1 else list(line) for line in lines]
    normals = [_normals(s) for s in samples]
    offsets = [[0.0] * len(s) for s in samples]
    moved = [False] * count
    for i in range(count):
        for j in range(count):
            if i == j:
                continue
            spacing = (widths[i] + widths[j]) / 2 + gap
            a, b = _bbox(lines[i], spacing), _bbox(lines[j], spacing)
            if not overlaps(a, b):
                continue
            pushes = _pushes(samples[i], normals[i], lines[j], spacing, i < j,
                             _same_direction(samples[i], lines[j], spacing), step)
            if any(pushes):
                moved[i] = True
                offsets[i] = [o + p for o, p in zip(offsets[i], pushes)]
    result = []
    for i in range(count):
        if not moved[i]:
            result.append(list(lines[i]))
            continue
        spacing = max(widths) + gap
        smooth = _smooth(offsets[i], max(1, round(2 * spacing / step)))
        taper = 4 * spacing
        total = len(smooth) - 1
        shifted = []
        for k, ((x, y), (nx, ny), o) in enumerate(zip(samples[i], normals[i], smooth)):
            ease = min(1.0, k * step / taper, (total - k) * step / taper)
            shifted.append((x + nx * o * ease, y + ny * o * ease))
        result.append(_thin(shifted, 0.15))
    return result


def _same_direction(points: list[Point], other: list[Point], reach: float) -> bool:
    """Return whether ``other`` runs the same way as ``points`` where they are close: whether its nearest
    points move forward along it as ``points`` move forward."""
    total = 0.0
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        near = _nearest((ax, ay), other, reach)
        if near is None:
            continue
        ahead = _nearest((bx, by), other, reach)
        if ahead is None:
            continue
        total += ahead[2] - near[2]
    return total >= 0


def _pushes(points: list[Point], normals: list[Point], other: list[Point], spacing: float, first: bool,
            same_direction: bool, step: float = 2.0) -> list[float]:
    """Return, per sample of a line, how far (along its normal, signed) to move it away from ``other``."""
    near = [_nearest(p, other, spacing) for p in points]
    # Which side the other line lies on, decided once for the pair so the lines never swap sides.
    lean = sum((q[0] - p[0]) * n[0] + (q[1] - p[1]) * n[1] for p, n, found in zip(points, normals, near)
               if found for q in (found[1],))
    if abs(lean) > 0.5 * spacing:
        side = -1.0 if lean > 0 else 1.0
    else:
        # They coincide: the first line goes left of its way, the second to the right of the first's.
        side = 1.0 if first else (-1.0 if same_direction else 1.0)
    close = _drop_short_runs([found is not None for found in near], max(2, round(3 * spacing / step)))
    pushes = []
    for p, n, found, keep in zip(points, normals, near, close):
        if not keep:
            pushes.append(0.0)
            continue
        q = found[1]
        apart = -side * ((q[0] - p[0]) * n[0] + (q[1] - p[1]) * n[1])  # how far on the wanted side already
        pushes.append(side * max(0.0, spacing - apart) / 2)
    return pushes


def _thin(points: list[Point], tolerance: float) -> list[Point]:
    """Return the points Douglas-Peucker keeps at ``tolerance`` pixels."""
    from .geo import simplify_xy

    return simplify_xy(points, tolerance)
