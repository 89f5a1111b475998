"""Vertebra label layout in *screen* space: plain geometry over viewport pixels, no Qt
(the Qt scene items in :mod:`ovcf_viewer.qt.annotate.landmark_items` measure the text and
apply the plan).

Each label is anchored at its vertebra's anterior or posterior wall midpoint (sa–ia, sp–ip;
docs/clinical-reference.md §1) mapped through the view's transform, stacked along the screen
axis the spine runs along, kept inside the viewport and off the corner overlays and each
other, and joined to its wall by a leader line when it had to move far
(:func:`plan_label_layout`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["LabelPlacement", "LabelRequest", "ScreenRect", "labels_over_handles",
           "plan_label_layout"]

# Label layout, all in screen pixels (see plan_label_layout).
#: Gap between a wall and the label beside it.
LABEL_GAP_PX = 10.0
#: Gap between two labels, and between a label and a corner overlay.
LABEL_SPACING_PX = 4.0
#: Labels stay this far inside the viewport's edges.
VIEWPORT_MARGIN_PX = 4.0
#: A label whose box ends farther than this from its wall gets a leader line.
LEADER_DISTANCE_PX = 24.0
#: Layout cost of a landmark handle under a label (as if moved this far).
HANDLE_COVER_COST_PX = 60.0
#: Layout cost of a leader line crossing another label.
LEADER_CROSSING_COST_PX = 80.0
#: Layout cost of a label beside the posterior wall (the anterior side covers no bone).
POSTERIOR_SIDE_COST_PX = 2.0
#: Layout cost of a label over a posterior wall and the canal behind it (the region read for
#: retropulsion, docs/clinical-reference.md §6), per vertebra covered.
POSTERIOR_WALL_COVER_COST_PX = 30.0
#: The posterior-wall region of a vertebra, as fractions of its anterior–posterior wall
#: distance ``d``: from ``0.15 d`` in front of the posterior wall to ``0.5 d`` behind it, over
#: ``d`` along the spine centred on the wall (a body is about as tall as it is deep).
WALL_REGION_FRONT = 0.15
WALL_REGION_BACK = 0.5
#: Layout cost of letting labels choose their side one by one (one column reads easier).
MIXED_SIDES_COST_PX = 120.0
#: Handle radius and grab radius in screen pixels.
HANDLE_RADIUS_PX = 5.0

#: Left, top, right, bottom in viewport pixels.
ScreenRect = tuple[float, float, float, float]


@dataclass(frozen=True)
class LabelRequest:
    """One vertebra label to lay out: its box size (width, height) and where its anterior
    and posterior walls' midpoints are, all in viewport pixels (``posterior`` is ``None``
    until both posterior corners are placed)."""

    level: str
    size: tuple[float, float]
    anterior: tuple[float, float]
    posterior: tuple[float, float] | None


@dataclass(frozen=True)
class LabelPlacement:
    """Where a label goes: the wall point it describes (``anchor``) and its ``box``, both
    in viewport pixels, and whether a leader line joins them."""

    level: str
    anchor: tuple[float, float]
    box: ScreenRect
    leader: bool


def _wall_midpoints(points: dict[str, tuple[float, float]]
                    ) -> tuple[tuple[float, float], tuple[float, float] | None]:
    """Anterior wall midpoint (sa–ia; the placed corner or the centroid of what is placed
    while the wall is incomplete) and posterior wall midpoint (sp–ip, else ``None``), in
    image coordinates (docs/clinical-reference.md §1)."""

    def mean(xys: list[tuple[float, float]]) -> tuple[float, float]:
        return (sum(x for x, _ in xys) / len(xys), sum(y for _, y in xys) / len(xys))

    anterior = [points[n] for n in ("sa", "ia") if n in points]
    posterior = [points[n] for n in ("sp", "ip") if n in points]
    front = mean(anterior) if anterior else mean(list(points.values()))
    back = mean(posterior) if len(posterior) == 2 and anterior else None
    return front, back


def _segment_hits_rect(p: tuple[float, float], q: tuple[float, float], rect: ScreenRect
                       ) -> bool:
    """Whether segment ``p``–``q`` passes through the inside of ``rect`` (left, top, right,
    bottom); Liang–Barsky clipping."""
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for step, distance in ((-dx, p[0] - rect[0]), (dx, rect[2] - p[0]),
                           (-dy, p[1] - rect[1]), (dy, rect[3] - p[1])):
        if step == 0.0:
            if distance <= 0.0:
                return False
            continue
        t = distance / step
        if step < 0.0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 >= t1:
            return False
    return True


def _nearest_free_start(preferred: float, length: float, low: float, high: float,
                        blocked: list[tuple[float, float]]) -> float | None:
    """The start nearest ``preferred`` of an interval of ``length`` inside ``[low, high]``
    that overlaps none of ``blocked``; ``None`` when there is no room."""
    if high - low < length - 1e-9:
        return None
    candidates = [min(max(preferred, low), high - length)]
    for start, end in blocked:
        candidates.extend((end, start - length))
    best: float | None = None
    for c in candidates:
        if c < low - 1e-9 or c + length > high + 1e-9:
            continue
        if any(start < c + length - 1e-9 and end > c + 1e-9 for start, end in blocked):
            continue
        if best is None or abs(c - preferred) < abs(best - preferred):
            best = c
    return best


def plan_label_layout(
    requests: list[LabelRequest],
    bounds: ScreenRect,
    keep_out: list[ScreenRect],
    handles: list[tuple[float, float]],
    spine_direction: tuple[float, float] = (0.0, 1.0),
) -> dict[str, LabelPlacement]:
    """Lay vertebra labels out in screen space (viewport pixels, y down).

    The spine runs along the screen axis most nearly perpendicular to the mean
    anterior-to-posterior direction of the vertebrae (vertical for an upright lateral film,
    horizontal after a quarter turn; ``spine_direction``, the screen image of the image's
    y axis, decides while no posterior wall is placed). Each label wants to sit
    ``LABEL_GAP_PX`` beyond its wall across the spine and centred on the wall along it. Labels
    are placed one by one down the spine; each takes the free slot (inside ``bounds``, off
    the ``keep_out`` boxes and off the labels already placed, with ``LABEL_SPACING_PX``
    between boxes) that costs least: distance moved along the spine, half the distance moved
    across it, and ``HANDLE_COVER_COST_PX`` for each landmark handle (``handles``, viewport
    pixels) the box would cover, plus ``LEADER_CROSSING_COST_PX`` for each label its leader
    line would cross. Slots across the spine are the wall itself, the viewport's edges and
    just beyond the labels already placed and the corner overlays, so labels that cannot all
    sit beside their walls form further columns (rows when the spine runs across the
    screen). Three arrangements are tried: all labels beside the anterior walls, all beside
    the posterior walls (``POSTERIOR_SIDE_COST_PX`` more per label: the anterior side covers
    soft tissue, not bone), and each label on its cheaper side (``MIXED_SIDES_COST_PX`` more:
    one column reads easier); the cheapest wins. A label that ends farther than
    ``LEADER_DISTANCE_PX``
    from its wall gets a leader line. A label with no room anywhere is left out.

    Labels are kept off the posterior walls and the canal behind them (the region read for
    retropulsion): when every label fits beside the anterior walls covering no handle and no
    posterior-wall region (``WALL_REGION_FRONT``/``WALL_REGION_BACK``), that arrangement is
    taken whatever it costs in distance; otherwise each label avoids those regions where it
    can (each one covered costs ``POSTERIOR_WALL_COVER_COST_PX`` when its slot is chosen), so
    a label beside the posterior wall sits beyond the canal when there is room there.
    """
    if not requests:
        return {}
    across = [(r.anterior[0] - r.posterior[0], r.anterior[1] - r.posterior[1])
              for r in requests if r.posterior is not None]
    if across:
        cx, cy = sum(a[0] for a in across), sum(a[1] for a in across)
        vertical = abs(cx) >= abs(cy)
        anterior_sign = 1.0 if (cx if vertical else cy) >= 0 else -1.0
    else:
        vertical = abs(spine_direction[1]) >= abs(spine_direction[0])
        anterior_sign = 1.0

    # (u, v): u along the spine, v across it.
    def uv(xy: tuple[float, float]) -> tuple[float, float]:
        return (xy[1], xy[0]) if vertical else (xy[0], xy[1])

    def uv_rect(r: ScreenRect) -> ScreenRect:  # -> (u0, v0, u1, v1)
        return (r[1], r[0], r[3], r[2]) if vertical else r

    def xy_rect(u0: float, v0: float, u1: float, v1: float) -> ScreenRect:
        return (v0, u0, v1, u1) if vertical else (u0, v0, u1, v1)

    walls: list[ScreenRect] = []  # posterior-wall regions, (u0, v0, u1, v1)
    for r in requests:
        if r.posterior is None:
            continue
        (au, av), (pu, pv) = uv(r.anterior), uv(r.posterior)
        d = math.hypot(au - pu, av - pv)
        front = pv + anterior_sign * WALL_REGION_FRONT * d
        back = pv - anterior_sign * WALL_REGION_BACK * d
        walls.append((pu - d / 2, min(front, back), pu + d / 2, max(front, back)))

    u_low, v_low, u_high, v_high = uv_rect(bounds)
    obstacles = [uv_rect(r) for r in keep_out]
    handle_uv = [uv(h) for h in handles]
    spacing = LABEL_SPACING_PX
    reach = HANDLE_RADIUS_PX + 1.0

    def place(request: LabelRequest, sides: tuple[float, ...], placed: list[ScreenRect]
              ) -> tuple[float, LabelPlacement, bool, float] | None:
        best: tuple[float, LabelPlacement, bool, float] | None = None
        width, height = request.size
        length, depth = (height, width) if vertical else (width, height)
        for side in sides:
            wall = request.anterior if side == anterior_sign or request.posterior is None \
                else request.posterior
            au, av = uv(wall)
            want_v = av + LABEL_GAP_PX if side > 0 else av - LABEL_GAP_PX - depth
            want_u = au - length / 2.0
            if v_high - v_low < depth:
                continue
            starts = {min(max(want_v, v_low), v_high - depth), v_low, v_high - depth}
            for p in placed + obstacles + walls:  # next to a label, an overlay, a wall region
                starts.update((p[3] + spacing, p[1] - spacing - depth))
            # Just clear of the handles beside the wall (corners stick out past its midpoint).
            beside = [hv for hu, hv in handle_uv
                      if want_u - reach < hu < want_u + length + reach
                      and (hv >= av if side > 0 else hv <= av)]
            if beside:
                starts.add(max(beside) + reach if side > 0 else min(beside) - reach - depth)
            for v0 in starts:
                if v0 < v_low - 1e-9 or v0 + depth > v_high + 1e-9:
                    continue
                blocked = [(r[0] - spacing, r[2] + spacing) for r in placed + obstacles
                           if r[1] < v0 + depth + spacing and r[3] > v0 - spacing]
                u0 = _nearest_free_start(want_u, length, u_low, u_high, blocked)
                if u0 is None:
                    continue
                covered = sum(1 for hu, hv in handle_uv
                              if u0 - reach < hu < u0 + length + reach
                              and v0 - reach < hv < v0 + depth + reach)
                box_uv = (u0, v0, u0 + length, v0 + depth)
                on_walls = sum(1 for w in walls if w[0] < box_uv[2] and w[2] > box_uv[0]
                               and w[1] < box_uv[3] and w[3] > box_uv[1])
                nearest = (min(max(au, box_uv[0]), box_uv[2]),
                           min(max(av, box_uv[1]), box_uv[3]))
                leader = math.hypot(nearest[0] - au, nearest[1] - av) > LEADER_DISTANCE_PX
                crossings = sum(1 for r in placed if _segment_hits_rect((au, av), nearest, r)) \
                    if leader else 0
                cost = (abs(u0 - want_u) + 0.5 * abs(v0 - want_v)
                        + HANDLE_COVER_COST_PX * covered
                        + LEADER_CROSSING_COST_PX * crossings
                        + POSTERIOR_WALL_COVER_COST_PX * on_walls
                        + (0.0 if side == anterior_sign else POSTERIOR_SIDE_COST_PX))
                if best is None or cost < best[0]:
                    best = (cost, LabelPlacement(request.level, wall, xy_rect(*box_uv), leader),
                            covered == 0 and on_walls == 0 and not leader,
                            POSTERIOR_WALL_COVER_COST_PX * on_walls)
        return best

    ordered = sorted(requests, key=lambda r: uv(r.anterior)[0])
    plans: list[tuple[float, dict[str, LabelPlacement]]] = []
    for sides in ((anterior_sign,), (-anterior_sign,), (anterior_sign, -anterior_sign)):
        total, result, clean = 0.0, {}, True
        placed_uv: list[ScreenRect] = []
        for request in ordered:
            found = place(request, sides, placed_uv)
            if found is None:
                total += 1e6
                clean = False
                continue
            total += found[0] - found[3]  # the wall cost chooses slots, not the side
            result[request.level] = found[1]
            clean = clean and found[2]
            placed_uv.append(uv_rect(found[1].box))
        if len(sides) > 1:
            total += MIXED_SIDES_COST_PX
        if sides == (anterior_sign,) and clean:
            return result  # room on the anterior side: the posterior walls stay clear
        plans.append((total, result))
    return min(plans, key=lambda plan: plan[0])[1]


def labels_over_handles(plan: dict[str, LabelPlacement],
                        handles: list[tuple[float, float]]) -> list[str]:
    """The levels whose placed label box overlaps a landmark handle (a disc of
    :data:`HANDLE_RADIUS_PX` about each point), in viewport pixels."""
    covering = []
    for level, placement in plan.items():
        left, top, right, bottom = placement.box
        if any(left - HANDLE_RADIUS_PX < x < right + HANDLE_RADIUS_PX
               and top - HANDLE_RADIUS_PX < y < bottom + HANDLE_RADIUS_PX
               for x, y in handles):
            covering.append(level)
    return covering
