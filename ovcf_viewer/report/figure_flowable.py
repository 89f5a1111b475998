"""The film figure as a reportlab flowable (:class:`FilmFigure`). reportlab is imported when
this module is, so only :func:`ovcf_viewer.report.figure.make_film_figure` imports it, inside
the function (start-up path)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from reportlab.lib.colors import Color, black, white
from reportlab.platypus import Flowable

from ovcf_viewer.measure.measurements import IndexLevelMeasurement
from ovcf_viewer.model.landmarks import POINT_NAMES
from ovcf_viewer.report.figure import _anterior_sign, _render_crop, marker_in_region
from ovcf_viewer.report.formatting import format_angle, genant_text
from ovcf_viewer.report.source import ReportFilm
from ovcf_viewer.report.styles import _RULE, FONT, FONT_BOLD


class FilmFigure(Flowable):
    """The crop with landmarks, outlines, labels, a scale bar and the anterior marker,
    all in vector graphics mapped from image coordinates (§1)."""

    def __init__(
        self,
        film: ReportFilm,
        region: tuple[int, int, int, int] | None,
        max_width: float,
        max_height: float,
        detail_level: str | None = None,
        *,
        marker: tuple[float, float, float, float] | None = None,
    ) -> None:
        super().__init__()
        self.film = film
        self.marker = marker  # the burned-in side marker's image box, when found
        self.detail_level = detail_level
        self.region = region
        # Drawn in physical proportions, like the viewer (docs/clinical-reference.md §1): a
        # pixel
        # is col_mm wide and row_mm high. Uncalibrated, lengths are in column widths and a
        # row is Pixel Aspect Ratio column widths high (the none calibration carries it).
        cal = self.film.calibration
        self.col_mm, self.row_mm = cal.col_mm, cal.row_mm
        if region is None:
            self.width, self.height, self.scale = max_width, 40.0, 1.0
            return
        x0, y0, x1, y1 = region
        w_mm, h_mm = (x1 - x0) * self.col_mm, (y1 - y0) * self.row_mm
        self.scale = min(max_width / w_mm, max_height / h_mm)  # points per mm (or px)
        self.width, self.height = w_mm * self.scale, h_mm * self.scale

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def to_page(self, xy: Sequence[float]) -> tuple[float, float]:
        assert self.region is not None
        x0, y0 = self.region[0], self.region[1]
        px = (xy[0] - (x0 - 0.5)) * self.col_mm * self.scale
        py = self.height - (xy[1] - (y0 - 0.5)) * self.row_mm * self.scale
        return px, py

    def draw(self) -> None:
        c = self.canv
        c.saveState()
        c.setFillColor(Color(0.12, 0.12, 0.13))
        c.rect(0, 0, self.width, self.height, stroke=0, fill=1)
        if self.region is None:
            c.setFillColor(white)
            c.setFont(FONT, 8)
            c.drawCentredString(self.width / 2, self.height / 2 - 3, "No landmarks placed")
            c.restoreState()
            return
        if self.film.image is not None:
            picture = _render_crop(self.film, self.region, self.width, self.height)
            from reportlab.lib.utils import ImageReader

            c.drawImage(ImageReader(picture), 0, 0, self.width, self.height)
        else:
            c.setFillColor(Color(0.85, 0.86, 0.88))
            c.setFont(FONT_BOLD, 8.5)
            c.drawCentredString(self.width / 2, self.height - 14, "Film missing")
            c.setFont(FONT, 7)
            c.drawCentredString(
                self.width / 2, self.height - 24, "saved landmarks drawn without the image"
            )
        path = c.beginPath()
        path.rect(0, 0, self.width, self.height)
        c.clipPath(path, stroke=0, fill=0)
        self._draw_overlays()
        c.restoreState()
        c.setStrokeColor(Color(*_RULE))
        c.setLineWidth(0.5)
        c.rect(0, 0, self.width, self.height, stroke=1, fill=0)

    # -- overlays ---------------------------------------------------------------------
    def _stroke(self, points: list[tuple[float, float]], color: Any, width: float,
                closed: bool = False, dash: tuple[float, ...] | None = None) -> None:
        """A line with a dark halo underneath so it reads on bone and on black."""
        c = self.canv
        for stroke_color, stroke_width in ((black, width + 1.4), (color, width)):
            c.setStrokeColor(stroke_color)
            c.setStrokeAlpha(0.55 if stroke_color is black else 1.0)
            c.setLineWidth(stroke_width)
            c.setDash(*(dash if dash else ([], 0)))
            path = c.beginPath()
            path.moveTo(*points[0])
            for pt in points[1:]:
                path.lineTo(*pt)
            if closed:
                path.close()
            c.drawPath(path, stroke=1, fill=0)
        c.setStrokeAlpha(1.0)
        c.setDash([], 0)

    def _label(self, anchor: tuple[float, float], lines: list[tuple[str, bool]],
               direction: float) -> None:
        """Text lines in a dark box beside ``anchor``; ``direction`` +1 puts the box to
        the right of the anchor, −1 to the left. Kept inside the figure."""
        c = self.canv
        size, lead, pad = 6.6, 8.0, 2.0
        widths = [c.stringWidth(t, FONT_BOLD if b else FONT, size) for t, b in lines]
        box_w, box_h = max(widths) + 2 * pad, lead * len(lines) + pad
        bx = anchor[0] + 5 if direction > 0 else anchor[0] - 5 - box_w
        by = anchor[1] - box_h / 2
        bx = min(max(bx, 1.5), self.width - box_w - 1.5)
        by = min(max(by, 1.5), self.height - box_h - 1.5)
        c.setFillColor(black)
        c.setFillAlpha(0.68)
        c.roundRect(bx, by, box_w, box_h, 1.5, stroke=0, fill=1)
        c.setFillAlpha(1.0)
        y = by + box_h - pad - size + 0.6
        for (text, bold), _w in zip(lines, widths, strict=True):
            c.setFillColor(Color(1.0, 0.86, 0.45) if bold else white)
            c.setFont(FONT_BOLD if bold else FONT, size)
            c.drawString(bx + pad, y, text)
            y -= lead

    def _draw_overlays(self) -> None:
        c = self.canv
        ann = self.film.annotations
        m = self.film.measurements
        index = set(ann.index_levels) | (set(m.index_levels) if m is not None else set())
        normal, highlight = Color(0.30, 0.85, 1.0), Color(1.0, 0.62, 0.10)
        anterior = _anterior_sign(ann)
        if self.detail_level is not None:
            self._draw_detail(self.detail_level, highlight, normal, anterior)
            return
        for vertebra in ann.ordered_vertebrae():
            p = {n: self.to_page(xy) for n, xy in vertebra.points.items()}
            color = highlight if vertebra.level in index else normal
            if vertebra.is_complete:
                outline = [p[n] for n in ("sa", "sm", "sp", "ip", "im", "ia")]
                self._stroke(outline, color, 0.9, closed=True)
            for name in POINT_NAMES:
                if name in p:
                    c.setFillColor(black)
                    c.circle(*p[name], 1.9, stroke=0, fill=1)
                    c.setFillColor(color)
                    c.circle(*p[name], 1.15, stroke=0, fill=1)
            ant = [p[n] for n in ("sa", "ia") if n in p] or list(p.values())
            anchor = (
                sum(q[0] for q in ant) / len(ant),
                sum(q[1] for q in ant) / len(ant),
            )
            lines: list[tuple[str, bool]] = [(vertebra.level, vertebra.level in index)]
            vm = m.vertebrae.get(vertebra.level) if m is not None else None
            if vertebra.level in index and vm is not None:
                lines.append((f"Genant {genant_text(vm)}", False))
                im = m.index_levels.get(vertebra.level) if m is not None else None
                if im is not None and im.segmental_kyphosis_deg is not None:
                    lines.append(
                        (f"seg. kyphosis {format_angle(im.segmental_kyphosis_deg)}", False)
                    )
            if m is not None:  # plausibility warnings on the film (§6a)
                lines += [(f"! {w.short}", True) for w in m.warnings_for(vertebra.level)]
            self._label(anchor, lines, anterior)
        if m is not None:
            for im in m.index_levels.values():
                self._draw_segmental_lines(im)
        leak = Color(1.0, 0.50, 0.05)
        for _level, region in self.film.leaks:  # drawn cement leaks (§5a)
            self._stroke([self.to_page(xy) for xy in region.points], leak, 1.1, closed=True,
                         dash=(2.5, 1.5))
        self._draw_scale_bar()
        self._draw_anterior_marker(anterior)

    def _draw_detail(self, level: str, highlight: Any, normal: Any, anterior: float) -> None:
        """Close-up: the vertebra's outline and its six named landmarks, the
        neighbours' facing endplates."""
        c = self.canv
        ann = self.film.annotations
        for other in ann.ordered_vertebrae():
            p = {n: self.to_page(xy) for n, xy in other.points.items()}
            if other.level == level:
                continue
            for names in (("ia", "im", "ip"), ("sa", "sm", "sp")):
                if all(n in p for n in names):
                    self._stroke([p[n] for n in names], normal, 0.8)
        vertebra = ann.vertebrae[level]
        p = {n: self.to_page(xy) for n, xy in vertebra.points.items()}
        if vertebra.is_complete:
            outline = [p[n] for n in ("sa", "sm", "sp", "ip", "im", "ia")]
            self._stroke(outline, highlight, 1.0, closed=True)
        centre = (sum(q[0] for q in p.values()) / len(p),
                  sum(q[1] for q in p.values()) / len(p))
        c.setFont(FONT_BOLD, 6.4)
        for name, (x, y) in p.items():
            c.setFillColor(black)
            c.circle(x, y, 2.3, stroke=0, fill=1)
            c.setFillColor(highlight)
            c.circle(x, y, 1.5, stroke=0, fill=1)
            # the name just outside the body, away from its centre
            dx, dy = x - centre[0], y - centre[1]
            norm = math.hypot(dx, dy) or 1.0
            tx, ty = x + dx / norm * 9, y + dy / norm * 7 - 2.2
            tw = c.stringWidth(name, FONT_BOLD, 6.4)
            c.setFillColor(black)
            c.setFillAlpha(0.65)
            c.rect(tx - tw / 2 - 1.2, ty - 1.6, tw + 2.4, 7.6, stroke=0, fill=1)
            c.setFillAlpha(1.0)
            c.setFillColor(white)
            c.drawCentredString(tx, ty, name)
        self._draw_scale_bar()
        self._draw_anterior_marker(anterior)

    def _draw_segmental_lines(self, im: IndexLevelMeasurement) -> None:
        """The two endplate lines the segmental kyphosis is measured between (§3),
        extended beyond the bodies, dashed."""
        if im.upper_level is None or im.lower_level is None:
            return
        ann = self.film.annotations
        pairs = (
            (ann.vertebrae[im.upper_level].points, "sp", "sa"),
            (ann.vertebrae[im.lower_level].points, "ip", "ia"),
        )
        for points, post, ant in pairs:
            a, b = self.to_page(points[post]), self.to_page(points[ant])
            dx, dy = b[0] - a[0], b[1] - a[1]
            ext = 0.35
            start = (a[0] - dx * ext, a[1] - dy * ext)
            end = (b[0] + dx * ext, b[1] + dy * ext)
            self._stroke([start, end], Color(1.0, 0.92, 0.30), 0.7, dash=(3, 2))

    def _draw_scale_bar(self) -> None:
        cal = self.film.calibration
        c = self.canv
        if cal.is_calibrated:
            length = next((v for v in (5.0, 10.0, 20.0, 50.0) if v * self.scale >= 28),
                          50.0)
            text = f"{length:g} {cal.unit_tag}"
        else:
            length = next((v for v in (20.0, 50.0, 100.0, 200.0, 500.0)
                           if v * self.scale >= 28), 500.0)
            # rows may be drawn taller than columns are wide (Pixel Aspect Ratio)
            square = math.isclose(self.row_mm, self.col_mm)
            text = f"{length:g} px" if square else f"{length:g} px (column widths)"
        bar = length * self.scale
        x, y = 6.0, 6.0
        self._stroke([(x, y), (x + bar, y)], white, 1.2)
        self._stroke([(x, y - 2), (x, y + 2)], white, 0.8)
        self._stroke([(x + bar, y - 2), (x + bar, y + 2)], white, 0.8)
        c.setFont(FONT, 6.2)
        c.setFillColor(black)
        c.setFillAlpha(0.6)
        tw = c.stringWidth(text, FONT, 6.2)
        c.rect(x - 1, y + 3.5, tw + 2, 8, stroke=0, fill=1)
        c.setFillAlpha(1.0)
        c.setFillColor(white)
        c.drawString(x, y + 5.5, text)

    def _draw_anterior_marker(self, anterior: float) -> None:
        c = self.canv
        text = "anterior →" if anterior > 0 else "← anterior"
        c.setFont(FONT_BOLD, 6.6)
        tw = c.stringWidth(text, FONT_BOLD, 6.6)
        x = self.width - tw - 6 if anterior > 0 else 6
        y = self.height - 11
        if self.detail_level is None and marker_in_region(self.marker, self.region):
            # beside the film's own side marker, never over it
            assert self.marker is not None
            left, top = self.to_page((self.marker[0], self.marker[1]))
            right, bottom = self.to_page((self.marker[2], self.marker[3]))
            if x < right + 3 and x + tw + 2 > left - 3 and y - 2.5 < top + 3 \
                    and y + 7 > bottom - 3:
                x = right + 5 if anterior < 0 else left - tw - 7
                x = min(max(x, 3.0), self.width - tw - 3)
        c.setFillColor(black)
        c.setFillAlpha(0.6)
        c.rect(x - 2, y - 2.5, tw + 4, 9.5, stroke=0, fill=1)
        c.setFillAlpha(1.0)
        c.setFillColor(white)
        c.drawString(x, y, text)
