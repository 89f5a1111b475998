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


def _crop_region(film: ReportFilm) -> tuple[int, int, int, int] | None:
    """Whole-pixel region ``(x0, y0, x1, y1)`` around every placed landmark and tool, with a
    margin of 12 mm (or 6 % of the image when uncalibrated) and extra room anteriorly for
    the labels; clipped to the image. ``None`` when nothing is placed."""
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
    if film.image is not None:
        x0, y0 = max(0.0, x0), max(0.0, y0)
        x1, y1 = min(float(film.image.columns), x1), min(float(film.image.rows), y1)
    return (math.floor(x0), math.floor(y0), math.ceil(x1) + 1, math.ceil(y1) + 1)


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
) -> Any:
    """The film figure; with ``detail_level`` a close-up of that vertebra whose six
    landmarks are named (docs/clinical-reference.md §2) instead of the whole annotated spine."""
    from ovcf_viewer.report.figure_flowable import FilmFigure

    region = _crop_region(film) if detail_level is None else _detail_region(film, detail_level)
    return FilmFigure(film, region, max_width, max_height, detail_level)
