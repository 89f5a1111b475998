"""The film figure: the image crop at print resolution with the landmarks, outlines, labels,
scale bar and anterior marker drawn over it as vector graphics mapped from image
coordinates (docs/clinical-reference.md §1)."""

from __future__ import annotations

import math
from typing import Any

from ovcf_viewer.model.landmarks import ImageAnnotations
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.report.source import PRINT_DPI, ReportFilm

# --------------------------------------------------------------------------------------------
# The film figure: image crop + vector overlays
# --------------------------------------------------------------------------------------------


def _crop_region(
    film: ReportFilm, marker: tuple[float, float, float, float] | None = None
) -> tuple[int, int, int, int] | None:
    """Whole-pixel region ``(x0, y0, x1, y1)`` around every placed landmark and tool, with a
    margin of 12 mm (or 6 % of the image when uncalibrated) and extra room anteriorly for
    the labels, widened to keep the burned-in side ``marker`` (:func:`side_marker_box`) when
    it lies within :data:`MARKER_REACH_MM`; clipped to the image. ``None`` when nothing is
    placed."""
    points = [p for v in film.annotations.vertebrae.values() for p in v.points.values()]
    points += [p for t in film.annotations.tools for p in t.points]
    if not points:
        return None
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    cal = film.calibration
    if cal.is_calibrated:
        mx, my = 12.0 / cal.col_mm, 12.0 / cal.row_mm
    else:
        span = max(max(xs) - min(xs), max(ys) - min(ys), 100.0)
        mx = my = 0.12 * span
    facing = _anterior_sign(film.annotations)
    label_room = 3.2 * mx
    x0 = min(xs) - mx - (label_room if facing < 0 else 0.0)
    x1 = max(xs) + mx + (label_room if facing > 0 else 0.0)
    y0, y1 = min(ys) - my, max(ys) + my
    if marker is not None and _gap(marker, (x0, y0, x1, y1)) <= MARKER_REACH_MM * mx / 12.0:
        # the burned-in side marker is near: widen the crop so the figure keeps it
        x0, y0 = min(x0, marker[0] - mx / 2), min(y0, marker[1] - my / 2)
        x1, y1 = max(x1, marker[2] + mx / 2), max(y1, marker[3] + my / 2)
    if film.image is not None:
        x0, y0 = max(0.0, x0), max(0.0, y0)
        x1, y1 = min(float(film.image.columns), x1), min(float(film.image.rows), y1)
    return (math.floor(x0), math.floor(y0), math.ceil(x1) + 1, math.ceil(y1) + 1)


#: How far (mm; 12 % of the landmarks' span uncalibrated) the film crop reaches out to keep
#: a burned-in side marker: nearer than this it is widened to include it.
MARKER_REACH_MM = 45.0


def _gap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """The larger of the horizontal and vertical gaps between two boxes (0 when they touch)."""
    dx = max(0.0, a[0] - b[2], b[0] - a[2])
    dy = max(0.0, a[1] - b[3], b[1] - a[3])
    return max(dx, dy)


def side_marker_box(film: ReportFilm) -> tuple[float, float, float, float] | None:
    """Where the film's burned-in side marker (the lead "L"/"R" letter) is, as an image box
    ``(x0, y0, x1, y1)`` in pixels, or ``None`` when none is found.

    A lead letter is the most attenuating thing on a radiograph: it is white in the default
    window (whatever the photometric interpretation). It is looked for as a compact white
    blob 5–40 mm across (2–12 % of the image uncalibrated) lying in a corner of the film
    (outer 30 % of the width and 25 % of the height)."""
    image = film.image
    if image is None:
        return None
    import numpy as np
    from scipy import ndimage

    from ovcf_viewer.render.display import default_window, render

    step = max(1, round(max(image.rows, image.columns) / 700))
    try:
        pixels = render(image, default_window(image), False, None, step)
    except Exception:  # pixels not readable: the figure says so itself
        return None
    grey = pixels.mean(axis=2) if pixels.ndim == 3 else pixels
    labels, _count = ndimage.label(grey >= 250)
    cal = film.calibration
    if cal.is_calibrated:
        col_mm, row_mm = cal.col_mm * step, cal.row_mm * step
        low, high = 5.0, 40.0
    else:
        col_mm = row_mm = 100.0 / max(image.rows, image.columns) * step  # % of the image
        low, high = 2.0, 12.0
    rows, cols = grey.shape
    best: tuple[float, float, float, float] | None = None
    best_area = 0
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        r0, r1, c0, c1 = box[0].start, box[0].stop, box[1].start, box[1].stop
        w, h = (c1 - c0) * col_mm, (r1 - r0) * row_mm
        in_corner = (c1 <= 0.3 * cols or c0 >= 0.7 * cols) and (
            r1 <= 0.25 * rows or r0 >= 0.75 * rows)
        if not (low <= w <= high and low <= h <= high and in_corner):
            continue
        area = int(np.count_nonzero(labels[box] == index))
        if area > best_area:
            best_area = area
            best = (c0 * step - 0.5, r0 * step - 0.5, c1 * step - 0.5, r1 * step - 0.5)
    return best


def _anterior_sign(annotations: ImageAnnotations) -> float:
    """+1 when the marked anterior side is towards larger x, −1 towards x = 0 (§2: patients
    face either way; the landmarks say which)."""
    total = 0.0
    for v in annotations.vertebrae.values():
        p = v.points
        ant = [p[n][0] for n in ("sa", "ia") if n in p]
        post = [p[n][0] for n in ("sp", "ip") if n in p]
        if ant and post:
            total += sum(ant) / len(ant) - sum(post) / len(post)
    return 1.0 if total >= 0 else -1.0


def _render_crop(
    film: ReportFilm, region: tuple[int, int, int, int], width_pt: float, height_pt: float
) -> Any:
    """The crop as a PIL image in the default (displayed) window, for a figure ``width_pt`` ×
    ``height_pt`` points. Each axis is downsampled on its own with a box filter to about
    :data:`PRINT_DPI` (never upsampled), so a film with non-square pixels, whose figure is
    drawn in physical (mm) proportions, keeps the print resolution along rows *and* columns
    rather than only along the columns."""
    from PIL import Image

    from ovcf_viewer.render.display import default_window, render

    image = film.image
    assert image is not None
    pixels = render(image, default_window(image), False, region, 1)
    mode = "RGB" if pixels.ndim == 3 else "L"
    picture = Image.fromarray(pixels, mode=mode)
    needed_width = max(1, round(width_pt / 72.0 * PRINT_DPI))
    needed_height = max(1, round(height_pt / 72.0 * PRINT_DPI))
    width = needed_width if picture.width > needed_width * 1.1 else picture.width
    height = needed_height if picture.height > needed_height * 1.1 else picture.height
    if (width, height) != picture.size:
        # an area-averaging filter: no aliasing of the trabecular texture or the noise
        picture = picture.resize((width, height), Image.Resampling.BOX)
    return picture


def _detail_region(film: ReportFilm, level: str) -> tuple[int, int, int, int] | None:
    """Whole-pixel region around one vertebra and the facing endplates of its neighbours
    (the disc spaces), 5 mm margin; for the index-level detail view."""
    ann = film.annotations
    vertebra = ann.vertebrae.get(level)
    if vertebra is None or not vertebra.points:
        return None
    points = list(vertebra.points.values())
    above, below = (ann.vertebrae.get(lv) if lv else None for lv in _neighbours(level))
    if above is not None:
        points += [above.points[n] for n in ("ia", "im", "ip") if n in above.points]
    if below is not None:
        points += [below.points[n] for n in ("sa", "sm", "sp") if n in below.points]
    cal = film.calibration
    mx, my = (5.0 / cal.col_mm, 5.0 / cal.row_mm) if cal.is_calibrated else (30.0, 30.0)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs) - mx, max(xs) + mx, min(ys) - my, max(ys) + my
    if film.image is not None:
        x0, y0 = max(0.0, x0), max(0.0, y0)
        x1, y1 = min(float(film.image.columns), x1), min(float(film.image.rows), y1)
    return (math.floor(x0), math.floor(y0), math.ceil(x1) + 1, math.ceil(y1) + 1)


def _neighbours(level: str) -> tuple[str | None, str | None]:
    from ovcf_viewer.model.landmarks import neighbour_levels

    return neighbour_levels(level)


def _make_film_figure(
    film: ReportFilm,
    max_width: float,
    max_height: float,
    settings: Settings,
    *,
    detail_level: str | None = None,
    marker: tuple[float, float, float, float] | None | str = "find",
) -> Any:
    """The film figure; with ``detail_level`` a close-up of that vertebra whose six
    landmarks are named (docs/clinical-reference.md §2) instead of the whole annotated spine.
    ``marker`` is the film's side marker box when already looked for (``None``: none found)."""
    from ovcf_viewer.report.figure_flowable import FilmFigure

    if detail_level is not None:
        return FilmFigure(film, _detail_region(film, detail_level), max_width, max_height,
                          detail_level)
    box = side_marker_box(film) if isinstance(marker, str) else marker
    return FilmFigure(film, _crop_region(film, box), max_width, max_height, marker=box)


def marker_in_region(
    marker: tuple[float, float, float, float] | None, region: tuple[int, int, int, int] | None
) -> bool:
    """Whether the whole side marker lies inside the figure's crop."""
    return (marker is not None and region is not None and marker[0] >= region[0]
            and marker[1] >= region[1] and marker[2] <= region[2] and marker[3] <= region[3])
