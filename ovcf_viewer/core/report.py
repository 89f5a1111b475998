"""The PDF measurement report: what a clinician files in the record and sends on.

One document per case (or per set of annotated films): a header with the institution,
physician and patient (or "De-identified", with no name, ID, birth date or sex anywhere in
the file, metadata included), a summary of the index levels across timepoints, one section per
film (an image crop at print resolution in the displayed default window, landmarks, outlines
and labels drawn as vector graphics over it, and the measurement tables), the pre/post/
follow-up comparison with its trend chart, the suitability summary when findings are given,
the calibration statement of every film and the definitions used, a signature block, and the
decision-support disclaimer on every page.

Conventions (docs/clinical-reference.md §1–§6): image coordinates ``(x, y) = (column, row)``,
``(0, 0)``
at the centre of the top-left pixel; lengths in mm under the film's calibration, or px when
it has none, always printed with :attr:`Calibration.unit_tag`; angles in degrees, kyphosis
positive. Every number is printed through the ``format_*`` functions below so tests can
compare the PDF's text with the model formatted the same way.

reportlab is imported inside functions (start-up path). Text is real text in an embedded,
subset DejaVu Sans (shipped with matplotlib), so every glyph (≥, −, ×, °) is selectable and
searchable; tables and overlays are vector graphics.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ovcf_viewer import __version__
from ovcf_viewer.core.calibration import Calibration
from ovcf_viewer.core.landmarks import POINT_NAMES, ImageAnnotations, Timepoint, level_index
from ovcf_viewer.core.measurements import (
    DEFORMITY_RATIO,
    ImageMeasurements,
    IndexLevelMeasurement,
    VertebraMeasurement,
)
from ovcf_viewer.core.settings import Settings

if TYPE_CHECKING:
    from ovcf_viewer.core.image import PatientInfo, RadiographImage

__all__ = [
    "DEIDENTIFIED",
    "DISCLAIMER",
    "REPORT_TITLE",
    "ReportError",
    "ReportFilm",
    "ReportSource",
    "build_report",
    "format_points",
    "prepare_report",
    "prepare_report_from_paths",
    "format_angle",
    "format_date",
    "format_length",
    "format_patient_name",
    "format_pct",
    "format_ratio",
    "format_signed_angle",
    "format_signed_length",
    "format_signed_pct",
    "genant_text",
    "page_size_points",
    "write_report",
]

REPORT_TITLE = "Vertebral fracture measurement report"
DISCLAIMER = "Decision support only; the treating clinician decides."
DEIDENTIFIED = "De-identified"
#: Print resolution the image crops are rendered at (dots per inch of the printed crop).
PRINT_DPI = 300
MISSING = "—"  # em dash: a value that cannot be measured (the table notes say why)


class ReportError(Exception):
    """The report could not be built or written; the message is one line for the user."""


# --------------------------------------------------------------------------------------------
# Number formatting: the one place every printed number goes through
# --------------------------------------------------------------------------------------------

_MINUS = "\u2212"


def _num(value: float, decimals: int, *, signed: bool = False) -> str:
    text = f"{value:.{decimals}f}"
    if text.startswith("-"):
        # "-0.0" is zero: print it without a sign
        text = text[1:] if float(text) == 0 else _MINUS + text[1:]
    elif signed and float(text) != 0:
        text = "+" + text
    return text


def format_length(value: float | None) -> str:
    """A height or distance, 1 decimal, without unit (the column header carries the unit tag)."""
    return MISSING if value is None else _num(value, 1)


def format_signed_length(value: float | None) -> str:
    return MISSING if value is None else _num(value, 1, signed=True)


def format_ratio(value: float | None) -> str:
    """A dimensionless ratio (Ha/Hp, Hm/Hp, crush), 2 decimals."""
    return MISSING if value is None else _num(value, 2)


def format_angle(value: float | None) -> str:
    """An angle in degrees, 1 decimal, with the degree sign (kyphosis positive, §3)."""
    return MISSING if value is None else _num(value, 1) + "°"


def format_signed_angle(value: float | None) -> str:
    return MISSING if value is None else _num(value, 1, signed=True) + "°"


def format_pct(value: float | None) -> str:
    """A percentage given in percent (not a fraction), 1 decimal, with " %"."""
    return MISSING if value is None else _num(value, 1) + " %"


def format_signed_pct(value: float | None) -> str:
    return MISSING if value is None else _num(value, 1, signed=True) + " %"


def format_date(value: date | None) -> str:
    return MISSING if value is None else value.isoformat()


def format_patient_name(name: str) -> str:
    """A DICOM Person Name (``FAMILY^Given^Middle^Prefix^Suffix``) as "FAMILY, Given Middle"."""
    parts = [p.strip() for p in name.split("=")[0].split("^")]
    family = parts[0] if parts else ""
    given = " ".join(p for p in parts[1:3] if p)
    if family and given:
        return f"{family}, {given}"
    return family or given


def genant_text(m: VertebraMeasurement) -> str:
    """"2 wedge", "0" (grade 0 has no type), per docs/clinical-reference.md §4."""
    g = m.genant
    return str(g.grade) if g.grade == 0 else f"{g.grade} {g.type}"


def _genant_reference_text(m: VertebraMeasurement) -> str:
    g = m.genant
    if g.reference == "adjacent":
        return "adjacent " + ", ".join(g.reference_levels)
    return "own posterior"


# --------------------------------------------------------------------------------------------
# What goes into a report
# --------------------------------------------------------------------------------------------


@dataclass
class ReportFilm:
    """One film of the report: its landmarks, the image (``None`` when the film is missing),
    the calibration the measurements used and the measurements (``None`` when they failed,
    with ``problem`` saying why)."""

    annotations: ImageAnnotations
    calibration: Calibration
    measurements: ImageMeasurements | None
    image: RadiographImage | None = None
    file_name: str = ""
    missing_reason: str = ""  # non-empty: "film missing: …"
    problem: str = ""  # non-empty: measurements could not be computed

    @property
    def timepoint(self) -> Timepoint | None:
        return self.annotations.timepoint

    @property
    def is_missing(self) -> bool:
        return self.image is None

    @property
    def study_date(self) -> date | None:
        if self.timepoint is not None and self.timepoint.date is not None:
            return self.timepoint.date
        if self.image is not None:
            return self.image.patient.study_date
        return None

    def title(self, *, deidentify: bool) -> str:
        """"Pre-operative — 2026-01-05" (no date when de-identified: dates identify)."""
        label = self.timepoint.label if self.timepoint is not None else "Film"
        if not deidentify and self.study_date is not None:
            label += f" — {self.study_date.isoformat()}"
        return label


@dataclass
class ReportSource:
    """Everything one report shows, already loaded and measured.

    ``comparison`` is a :class:`ovcf_viewer.core.comparison.CaseComparison` (or ``None``),
    ``evaluation`` a :class:`ovcf_viewer.core.suitability.Evaluation` (or ``None``);
    ``*_unavailable`` hold the one-line reason printed instead of a missing section.
    """

    films: list[ReportFilm]
    patient: PatientInfo | None = None
    procedure: str = ""
    treated_levels: tuple[str, ...] = ()
    comparison: Any = None
    comparison_unavailable: str = ""
    evaluation: Any = None
    suitability_film: str = ""  # which film the measured inputs came from
    suitability_unavailable: str = ""
    identifying_terms: list[str] = field(default_factory=list)  # extra terms to scrub
    warnings: list[str] = field(default_factory=list)

    @property
    def index_levels(self) -> list[str]:
        levels = {lv for f in self.films for lv in f.annotations.index_levels}
        levels.update(self.treated_levels)
        return sorted(levels, key=level_index)


def page_size_points(name: str) -> tuple[float, float]:
    """(width, height) in PDF points of ``"A4"`` or ``"Letter"``."""
    from reportlab.lib.pagesizes import A4, LETTER

    sizes = {"a4": A4, "letter": LETTER}
    try:
        return sizes[name.lower()]
    except KeyError:
        raise ReportError(f"page size {name!r}: expected A4 or Letter") from None


# --------------------------------------------------------------------------------------------
# Typography
# --------------------------------------------------------------------------------------------

FONT = "OVCFSans"
FONT_BOLD = "OVCFSans-Bold"
FONT_ITALIC = "OVCFSans-Oblique"

_INK = (0.10, 0.12, 0.15)
_ACCENT = (0.12, 0.25, 0.42)  # headings, rules
_MUTED = (0.38, 0.42, 0.47)
_RULE = (0.78, 0.81, 0.85)
_HEADER_FILL = (0.93, 0.945, 0.96)
_INDEX_FILL = (1.0, 0.955, 0.88)
_FLAG = (0.70, 0.12, 0.08)


def _register_fonts() -> None:
    """Register DejaVu Sans from matplotlib's font folder (always installed with the app)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(folder / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_ITALIC, str(folder / "DejaVuSans-Oblique.ttf")))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC, boldItalic=FONT_BOLD
    )


def _styles() -> dict[str, Any]:
    from reportlab.lib.colors import Color
    from reportlab.lib.styles import ParagraphStyle

    ink, accent, muted = Color(*_INK), Color(*_ACCENT), Color(*_MUTED)
    body = ParagraphStyle("body", fontName=FONT, fontSize=8.6, leading=11.4, textColor=ink)
    return {
        "title": ParagraphStyle(
            "title", parent=body, fontName=FONT_BOLD, fontSize=15.5, leading=19, textColor=accent
        ),
        "subtitle": ParagraphStyle("subtitle", parent=body, fontSize=9, textColor=muted),
        "h1": ParagraphStyle(
            "h1", parent=body, fontName=FONT_BOLD, fontSize=11.5, leading=14, textColor=accent,
            spaceBefore=10, spaceAfter=4,
        ),
        "h2": ParagraphStyle(
            "h2", parent=body, fontName=FONT_BOLD, fontSize=9.4, leading=12, textColor=ink,
            spaceBefore=6, spaceAfter=2,
        ),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=7.4, leading=9.4, textColor=muted),
        "note": ParagraphStyle(
            "note", parent=body, fontName=FONT_ITALIC, fontSize=7.4, leading=9.4, textColor=muted
        ),
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.8, leading=9.6),
        "cell_bold": ParagraphStyle("cell_bold", parent=body, fontName=FONT_BOLD, fontSize=7.8,
                                    leading=9.6),
        "head": ParagraphStyle(
            "head", parent=body, fontName=FONT_BOLD, fontSize=7.2, leading=8.8, textColor=ink
        ),
        "head_c": ParagraphStyle(
            "head_c", parent=body, fontName=FONT_BOLD, fontSize=7.2, leading=8.8, textColor=ink,
            alignment=1,
        ),
        "warning": ParagraphStyle(
            "warning", parent=body, fontName=FONT_BOLD, textColor=Color(*_FLAG)
        ),
        "disclaimer": ParagraphStyle(
            "disclaimer", parent=body, fontName=FONT_BOLD, fontSize=8.6, textColor=ink
        ),
    }


def _esc(text: object) -> str:
    """Text for a reportlab Paragraph (which parses a small XML markup)."""
    return (
        str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    )


def _table(
    rows: list[list[Any]],
    col_widths: list[float],
    *,
    header_rows: int = 1,
    spans: Sequence[tuple[tuple[int, int], tuple[int, int]]] = (),
    highlight_rows: Sequence[int] = (),
    align_right_from: int | None = None,
    extra: Sequence[tuple[Any, ...]] = (),
) -> Any:
    """A table with light rules: a tinted header, a rule under it, hairlines between rows."""
    from reportlab.lib.colors import Color
    from reportlab.platypus import Table, TableStyle

    rule, fill = Color(*_RULE), Color(*_HEADER_FILL)
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT, 7.8),
        ("TEXTCOLOR", (0, 0), (-1, -1), Color(*_INK)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.6),
        ("LEFTPADDING", (0, 0), (-1, -1), 3.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3.5),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, Color(*_ACCENT)),
        ("LINEBELOW", (0, -1), (-1, -1), 0.8, Color(*_ACCENT)),
        ("LINEBELOW", (0, header_rows), (-1, -2), 0.25, rule),
    ]
    if header_rows:
        commands += [
            ("BACKGROUND", (0, 0), (-1, header_rows - 1), fill),
            ("FONT", (0, 0), (-1, header_rows - 1), FONT_BOLD, 7.2),
            ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.6, Color(*_ACCENT)),
        ]
    if align_right_from is not None:
        commands.append(("ALIGN", (align_right_from, header_rows), (-1, -1), "RIGHT"))
        commands.append(("ALIGN", (align_right_from, 0), (-1, header_rows - 1), "CENTER"))
    for start, stop in spans:
        commands.append(("SPAN", start, stop))
    for r in highlight_rows:
        commands.append(("BACKGROUND", (0, r), (-1, r), Color(*_INDEX_FILL)))
    commands.extend(extra)
    table = Table(rows, colWidths=col_widths, repeatRows=header_rows, hAlign="LEFT")
    table.setStyle(TableStyle(commands))
    return table


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

    from ovcf_viewer.core.display import default_window, render

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
    from ovcf_viewer.core.landmarks import neighbour_levels

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
    from reportlab.lib.colors import Color, black, white
    from reportlab.platypus import Flowable


    region = _crop_region(film) if detail_level is None else _detail_region(film, detail_level)

    class FilmFigure(Flowable):
        """The crop with landmarks, outlines, labels, a scale bar and the anterior marker,
        all in vector graphics mapped from image coordinates (§1)."""

        def __init__(self) -> None:
            super().__init__()
            self.region = region
            # Drawn in physical proportions, like the viewer (docs/clinical-reference.md §1): a
            # pixel
            # is col_mm wide and row_mm high. Uncalibrated, lengths are in column widths and a
            # row is Pixel Aspect Ratio column widths high (the none calibration carries it).
            cal = film.calibration
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
            if film.image is not None:
                picture = _render_crop(film, self.region, self.width, self.height)
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
            ann = film.annotations
            m = film.measurements
            index = set(ann.index_levels) | (set(m.index_levels) if m is not None else set())
            normal, highlight = Color(0.30, 0.85, 1.0), Color(1.0, 0.62, 0.10)
            anterior = _anterior_sign(ann)
            if detail_level is not None:
                self._draw_detail(detail_level, highlight, normal, anterior)
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
                self._label(anchor, lines, anterior)
            if m is not None:
                for im in m.index_levels.values():
                    self._draw_segmental_lines(im)
            self._draw_scale_bar()
            self._draw_anterior_marker(anterior)

        def _draw_detail(self, level: str, highlight: Any, normal: Any, anterior: float) -> None:
            """Close-up: the vertebra's outline and its six named landmarks, the
            neighbours' facing endplates."""
            c = self.canv
            ann = film.annotations
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
            ann = film.annotations
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
            cal = film.calibration
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
            c.setFillColor(black)
            c.setFillAlpha(0.6)
            c.rect(x - 2, y - 2.5, tw + 4, 9.5, stroke=0, fill=1)
            c.setFillAlpha(1.0)
            c.setFillColor(white)
            c.drawString(x, y, text)

    return FilmFigure()


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


class _Builder:
    """Assembles the story (list of flowables) of one report."""

    def __init__(
        self,
        source: ReportSource,
        settings: Settings,
        *,
        deidentify: bool,
        page: tuple[float, float],
        report_date: datetime,
    ) -> None:
        from reportlab.lib.units import mm

        self.source = source
        self.settings = settings
        self.deidentify = deidentify
        self.page = page
        self.report_date = report_date
        self.mm = mm
        self.margin_x = 17 * mm
        self.margin_top = 25 * mm
        self.margin_bottom = 19 * mm
        self.width = page[0] - 2 * self.margin_x
        self.frame_height = page[1] - self.margin_top - self.margin_bottom
        self.s = _styles()
        self.story: list[Any] = []
        self.scrub_terms = _identifying_terms(source) if deidentify else []

    # -- helpers ---------------------------------------------------------------------------
    def p(self, text: str, style: str = "body") -> Any:
        from reportlab.platypus import Paragraph

        return Paragraph(text, self.s[style])

    def t(self, text: object) -> str:
        """Text from the model or another module, escaped for a Paragraph; when de-identifying,
        any patient name part, ID, birth date or film path it contains is removed."""
        out = str(text)
        for term in self.scrub_terms:
            out = _replace_ci(out, term, "[removed]")
        return _esc(out)

    def heading(self, text: str) -> Any:
        from reportlab.platypus import Paragraph

        return Paragraph(_esc(text), self.s["h1"])

    def cols(self, fractions: Sequence[float]) -> list[float]:
        total = sum(fractions)
        return [self.width * f / total for f in fractions]

    # -- header ----------------------------------------------------------------------------
    def header_block(self) -> None:
        from reportlab.platypus import Spacer

        src, st = self.source, self.settings
        self.story.append(self.p(_esc(REPORT_TITLE), "title"))
        films = ", ".join(
            f.timepoint.label if f.timepoint else "film" for f in src.films
        )
        self.story.append(self.p(_esc(f"Lateral spine radiographs: {films}"), "subtitle"))
        self.story.append(Spacer(1, 6))
        patient_rows = self._patient_rows()
        clinic_rows = [
            ("Institution", st.institution or "not set (Settings)"),
            ("Physician", st.physician or "not set (Settings)"),
            ("Report date", self.report_date.strftime("%Y-%m-%d %H:%M")),
            ("Procedure", self._procedure_text()),
        ]
        n = max(len(patient_rows), len(clinic_rows))
        patient_rows += [("", "")] * (n - len(patient_rows))
        clinic_rows += [("", "")] * (n - len(clinic_rows))
        rows = [
            [self.p(_esc(a), "head"), self.p(_esc(b), "cell"),
             self.p(_esc(c), "head"), self.p(_esc(d), "cell")]
            for (a, b), (c, d) in zip(patient_rows, clinic_rows, strict=True)
        ]
        from reportlab.lib.colors import Color

        table = _table(
            rows, self.cols([0.15, 0.35, 0.15, 0.35]), header_rows=0,
            extra=[
                ("BACKGROUND", (0, 0), (0, -1), Color(*_HEADER_FILL)),
                ("BACKGROUND", (2, 0), (2, -1), Color(*_HEADER_FILL)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ],
        )
        self.story.append(table)
        for warning in src.warnings:
            self.story.append(Spacer(1, 3))
            self.story.append(self.p(_esc(warning), "warning"))

    def _patient_rows(self) -> list[tuple[str, str]]:
        if self.deidentify:
            return [("Patient", DEIDENTIFIED)]
        patient = self.source.patient
        if patient is None:
            return [("Patient", "not recorded in the films")]
        sex = {"F": "female", "M": "male", "O": "other"}.get(patient.sex.upper(), patient.sex)
        return [
            ("Patient", format_patient_name(patient.name) or "not recorded"),
            ("Patient ID", patient.patient_id or "not recorded"),
            ("Birth date", format_date(patient.birth_date)
             if patient.birth_date else "not recorded"),
            ("Sex", sex or "not recorded"),
        ]

    def _procedure_text(self) -> str:
        src = self.source
        parts = [src.procedure or "not recorded"]
        if src.treated_levels:
            parts.append("treated level(s) " + ", ".join(src.treated_levels))
        return "; ".join(parts)

    # -- summary ---------------------------------------------------------------------------
    def summary(self) -> None:
        src = self.source
        self.story.append(self.heading("Summary of index levels"))
        levels = src.index_levels
        if not levels:
            self.story.append(self.p(
                "No index (fractured) level is marked on these films: the tables below list "
                "every measured vertebra.", "body"))
            return
        cobb_name = _cobb_name(self.settings.cobb_definition)
        head = ["Level", "Film", "Genant grade", "Height reduction", "Ha/Hp",
                "Segmental kyphosis", "LOVBH", "Calibration"]
        rows: list[list[Any]] = [[self.p(_esc(h), "head") for h in head]]
        for level in levels:
            for film in src.films:
                m = film.measurements
                vm = m.vertebrae.get(level) if m else None
                im = m.index_levels.get(level) if m else None
                rows.append([
                    level,
                    self.p(_esc(film.timepoint.label if film.timepoint else "Film"), "cell"),
                    genant_text(vm) if vm else MISSING,
                    format_pct(vm.genant.height_reduction_pct) if vm else MISSING,
                    format_ratio(vm.wedge_ratio) if vm else MISSING,
                    format_angle(im.segmental_kyphosis_deg) if im else MISSING,
                    format_pct(im.lovbh_pct) if im else MISSING,
                    self.p(_esc(film.calibration.unit_tag
                                + (" (film missing)" if film.is_missing else "")), "cell"),
                ])
        self.story.append(_table(
            rows, self.cols([0.07, 0.2, 0.11, 0.11, 0.08, 0.12, 0.09, 0.22]),
            align_right_from=2,
            extra=[("ALIGN", (7, 1), (7, -1), "LEFT")],
        ))
        self.story.append(self.p(_esc(
            f"Genant grade and reduction against the {_reference_name(self.settings)}; "
            f"ratios and angles do not depend on magnification, so they compare across films "
            f"(docs/clinical-reference.md §1). Segmental kyphosis: superior endplate of the "
            f"vertebra "
            f"above to inferior endplate of the vertebra below, kyphosis positive; the report "
            f"calls “Cobb” the {cobb_name}."), "note"))
        self.story.extend(self._key_results())

    def _key_results(self) -> list[Any]:
        """One line per clinical question a surgeon asks of a case (§5): restoration,
        kyphosis correction and its loss, height loss at follow-up, new deformities."""
        comp = self.source.comparison
        if comp is None or len(comp.films) < 2:
            return []
        lines: list[str] = []
        pre = comp.film(comp.preop_uid) if comp.preop_uid else None
        unit = pre.calibration.unit_tag if pre else ""
        for lc in comp.levels:
            if lc.role != "treated":
                continue
            r = lc.restoration_for("a")
            post = comp.film(comp.postop_uid) if comp.postop_uid else None
            if r is not None and not _same_unit(pre, post):
                lines.append(
                    f"<b>{lc.level} anterior height</b>: pre- and post-operative films in "
                    f"different units (mm and px); change in % of reference "
                    f"{format_signed_length(r.ratio_change_pp)} points.")
            elif r is not None:
                text = (f"<b>{lc.level} anterior height</b> {format_length(r.pre_mm)} → "
                        f"{format_length(r.post_mm)} {_esc(unit)}: restored "
                        f"{format_signed_length(r.absolute_mm)} ("
                        f"{format_signed_pct(r.pct_of_initial)} of initial, "
                        f"{format_signed_pct(r.pct_of_lost)} of lost, "
                        f"{format_signed_pct(r.pct_of_reference)} of reference height)")
                if not r.mm_comparable:
                    text += "; films differ in calibration: compare by % of reference"
                lines.append(text + ".")
            k = lc.kyphosis
            if k is not None and (k.pre_deg is not None or k.post_deg is not None):
                text = (f"<b>{lc.level} kyphosis</b> ({_esc(_cobb_name(k.definition))}) "
                        f"{format_angle(k.pre_deg)} → {format_angle(k.post_deg)}")
                if k.correction_deg is not None:
                    text += f": corrected {format_signed_angle(k.correction_deg)}"
                    if k.correction_within_variability:
                        text += " (within measurement variability)"
                for loss in k.losses:
                    text += (f"; loss of correction at {self.t(loss.followup_label)} "
                             f"{format_signed_angle(loss.loss_deg)}")
                    if loss.within_variability:
                        text += " (within measurement variability)"
                lines.append(text + ".")
            for loss in lc.height_loss:
                if loss.height != "a" or not _same_unit(post, comp.film(loss.followup_uid)):
                    continue
                text = (f"<b>{lc.level} anterior height at {self.t(loss.followup_label)}</b>: "
                        f"{format_length(loss.followup_mm)} {_esc(unit)}, loss "
                        f"{format_signed_length(loss.loss_mm)} "
                        f"({format_signed_pct(loss.loss_pct_of_post)} of post-operative)")
                if loss.within_variability:
                    text += " (within measurement variability)"
                lines.append(text + ".")
        deformities, _skipped = _comparable_deformities(comp)
        if deformities:
            for d in deformities:
                lines.append(f"<font color='#b31e14'><b>New deformity:</b> "
                             f"{self.t(d.description)}</font>.")
        else:
            lines.append("<b>New deformities</b>: none (no height fell by ≥ 20 % and ≥ 4 mm "
                         "between consecutive films).")
        from reportlab.platypus import Spacer

        out: list[Any] = [Spacer(1, 4), self.p("Key results", "h2")]
        out += [self.p("• " + line, "body") for line in lines]
        return out

    # -- films -----------------------------------------------------------------------------
    def film_sections(self) -> None:
        from reportlab.platypus import KeepTogether, PageBreak, Spacer, Table, TableStyle

        for film in self.source.films:
            parts: list[Any] = []
            title = film.title(deidentify=self.deidentify)
            parts.append(self.heading(title))
            fig_w = self.width * 0.53
            fig_h = min(140 * self.mm, self.frame_height - 330)
            figure = _make_film_figure(film, fig_w, fig_h, self.settings)
            side = self._film_side_panel(film, figure.height)
            panel = Table(
                [[figure, side]],
                colWidths=[self.width * 0.55, self.width * 0.45],
                hAlign="LEFT",
            )
            panel.setStyle(TableStyle([
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]))
            parts.append(panel)
            parts.append(Spacer(1, 6))
            self.story.append(PageBreak())
            self.story.append(KeepTogether(parts))
            self.story.extend(self._measurement_tables(film))

    def _film_side_panel(self, film: ReportFilm, figure_height: float) -> list[Any]:
        from reportlab.platypus import Spacer

        out: list[Any] = []
        rows: list[tuple[str, str]] = []
        if film.timepoint is not None:
            rows.append(("Timepoint", film.timepoint.label))
            if not self.deidentify and film.study_date is not None:
                rows.append(("Film date", film.study_date.isoformat()))
        if not self.deidentify and film.file_name:
            rows.append(("File", film.file_name))
        if film.image is not None:
            from ovcf_viewer.core.display import default_window

            window = default_window(film.image)
            rows.append(("Display", getattr(window, "label", None) or "as stored (colour)"))
            rows.append(("Image", f"{film.image.columns} × {film.image.rows} px"))
        rows.append(("Lengths in", film.calibration.unit_tag))
        out.append(_table(
            [[self.p(_esc(a), "head"), self.p(_esc(b), "cell")] for a, b in rows],
            [self.width * 0.12, self.width * 0.31], header_rows=0,
            extra=[("LINEABOVE", (0, 0), (-1, 0), 0.25, _color(_RULE)),
                   ("LINEBELOW", (0, -1), (-1, -1), 0.25, _color(_RULE))],
        ))
        out.append(Spacer(1, 4))
        out.append(self.p(_esc(film.calibration.statement()), "small"))
        if not film.calibration.is_calibrated:
            out.append(self.p("No calibration: lengths in pixels. Ratios, percentages and "
                              "angles are still valid.", "warning"))
        if film.missing_reason:
            out.append(Spacer(1, 3))
            out.append(self.p(_esc(film.missing_reason), "warning"))
        if film.problem:
            out.append(Spacer(1, 3))
            out.append(self.p(_esc(film.problem), "warning"))
        m = film.measurements
        if m is not None and m.index_levels:
            out.append(Spacer(1, 5))
            for level, im in m.index_levels.items():
                vm = m.vertebrae[level]
                lines = [
                    f"<b>{level} (index level)</b>",
                    f"Genant grade {genant_text(vm)}, height reduction "
                    f"{format_pct(vm.genant.height_reduction_pct)} "
                    f"({_esc(_genant_reference_text(vm))})",
                    f"Segmental kyphosis {format_angle(im.segmental_kyphosis_deg)}"
                    + (f" ({_esc(im.segmental_endplates)})"
                       if im.segmental_kyphosis_deg is not None else " (not measurable: "
                       "needs the vertebrae above and below)"),
                    f"Vertebral wedge angle {format_angle(im.wedge_angle_deg)}",
                    f"LOVBH {format_pct(im.lovbh_pct)}",
                ]
                out.append(self.p("<br/>".join(lines), "body"))
                out.append(Spacer(1, 3))
        for note in m.notes if m is not None else ():
            out.append(self.p(self.t(note), "note"))
        if m is not None and m.index_levels:
            # the close-up takes the room left beside the film figure (never below it)
            width = self.width * 0.43
            used = sum(f.wrap(width, self.frame_height)[1] + f.getSpaceBefore()
                       + f.getSpaceAfter() for f in out)
            level = next(iter(m.index_levels))
            heading = self.p(_esc(f"{level} close-up: the six landmarks"), "h2")
            room = figure_height - used - 6 - heading.wrap(width, 100)[1] - 8
            if room >= 36 * self.mm:
                out.append(Spacer(1, 6))
                out.append(heading)
                out.append(_make_film_figure(film, width, min(room, 68 * self.mm),
                                             self.settings, detail_level=level))
        return out

    def _measurement_tables(self, film: ReportFilm) -> list[Any]:
        from reportlab.platypus import KeepTogether, Spacer

        m = film.measurements
        if m is None:
            return [self.p("No measurements on this film.", "body"), Spacer(1, 6)]
        if not m.vertebrae:
            return [self.p("No vertebra on this film has all six landmarks: nothing to "
                           "measure.", "body"), Spacer(1, 6)]
        unit = m.calibration.unit_tag
        head1 = ["Level", f"Heights ({unit})", "", "", "Ratios", "", "", "Wedge angle",
                 "Height reduction", "Genant grade", "Genant reference"]
        head2 = ["", "Ha", "Hm", "Hp", "Ha/Hp", "Hm/Hp", "Hp/Hp ref", "", "", "", ""]
        rows: list[list[Any]] = [
            [self.p(_esc(h), "head_c") if h else "" for h in head1],
            [self.p(_esc(h), "head_c") if h else "" for h in head2],
        ]
        highlight = []
        flagged: list[tuple[int, int]] = []
        for level, vm in m.vertebrae.items():
            if level in m.index_levels:
                highlight.append(len(rows))
            ratios = (vm.wedge_ratio, vm.biconcavity_ratio, vm.crush_ratio)
            for k, value in enumerate(ratios):
                if value is not None and round(value, 9) < DEFORMITY_RATIO:
                    flagged.append((4 + k, len(rows)))
            rows.append([
                level + (" *" if level in m.index_levels else ""),
                format_length(vm.anterior_height_mm),
                format_length(vm.middle_height_mm),
                format_length(vm.posterior_height_mm),
                format_ratio(vm.wedge_ratio),
                format_ratio(vm.biconcavity_ratio),
                format_ratio(vm.crush_ratio),
                format_angle(vm.wedge_angle_deg),
                format_pct(vm.genant.height_reduction_pct),
                genant_text(vm),
                _genant_reference_text(vm),
            ])
        spans = [((1, 0), (3, 0)), ((4, 0), (6, 0))] + [
            ((c, 0), (c, 1)) for c in (0, 7, 8, 9, 10)
        ]
        extra: list[tuple[Any, ...]] = [
            ("FONT", (0, 0), (-1, 1), FONT_BOLD, 7.2),
            ("VALIGN", (0, 0), (-1, 1), "MIDDLE"),
            ("ALIGN", (9, 2), (10, -1), "LEFT"),
            ("LINEBELOW", (1, 0), (6, 0), 0.25, _color(_RULE)),
        ]
        for col, row in flagged:
            extra.append(("FONT", (col, row), (col, row), FONT_BOLD, 7.8))
            extra.append(("TEXTCOLOR", (col, row), (col, row), _color(_FLAG)))
        table = _table(
            rows, self.cols([0.07, 0.075, 0.075, 0.075, 0.075, 0.075, 0.085, 0.085, 0.095,
                             0.1, 0.16]),
            header_rows=2, spans=spans, highlight_rows=highlight, align_right_from=1,
            extra=extra,
        )
        label = film.timepoint.label if film.timepoint else "Film"
        out: list[Any] = [KeepTogether([
            self.p(_esc(f"Vertebral measurements — {label}"), "h2"), table,
        ])]
        out.append(self.p(_esc(
            f"* index level. Ha, Hm, Hp: anterior, middle, posterior heights in {unit}. "
            f"Ratios below {DEFORMITY_RATIO:.2f} (bold) are deformities on the fixed cut-off "
            f"rule (Siminoski 2006). Hp/Hp ref: posterior height against the mean of the "
            f"placed adjacent vertebrae ({MISSING} without one). Wedge angle between the "
            f"vertebra's own endplates, kyphosis positive."), "note"))
        if m.index_levels:
            cobb_def = self.settings.cobb_definition
            head = ["Index level", "Segmental kyphosis", "Endplates",
                    "Vertebral wedge angle", "“Cobb” (setting)", "LOVBH"]
            rows2: list[list[Any]] = [[self.p(_esc(h), "head") for h in head]]
            for level, im in m.index_levels.items():
                rows2.append([
                    level,
                    format_angle(im.segmental_kyphosis_deg),
                    self.p(_esc(im.segmental_endplates), "cell"),
                    format_angle(im.wedge_angle_deg),
                    format_angle(im.cobb_deg(cobb_def)),
                    format_pct(im.lovbh_pct),
                ])
            out.append(Spacer(1, 4))
            out.append(KeepTogether([
                _table(rows2, self.cols([0.11, 0.14, 0.36, 0.14, 0.13, 0.12]),
                       align_right_from=1,
                       extra=[("ALIGN", (2, 1), (2, -1), "LEFT")]),
                self.p(_esc(
                    f"“Cobb” is the {_cobb_name(cobb_def)} (setting). LOVBH = ((A1 + A2) − 2·A0)"
                    f" / (A1 + A2) × 100 %, A0 the index level's Ha, A1/A2 those above and "
                    f"below (docs/clinical-reference.md §4)."), "note"),
            ]))
        out.append(Spacer(1, 8))
        return out

    # -- comparison ------------------------------------------------------------------------
    def comparison(self) -> None:
        """Before, after and follow-up (docs/clinical-reference.md §5), from
        :func:`ovcf_viewer.core.comparison.compare`."""
        from reportlab.platypus import CondPageBreak, KeepTogether, Spacer

        src = self.source
        timed = [f for f in src.films if f.timepoint is not None]
        if len(timed) < 2 and src.comparison is None and not src.comparison_unavailable:
            return
        comp = src.comparison
        if comp is not None and len(comp.films) < 2 and not src.comparison_unavailable:
            return  # one film with a timepoint: nothing to compare
        self.story.append(CondPageBreak(self.frame_height * 0.45))
        self.story.append(self.heading("Before, after and follow-up"))
        if comp is None:
            self.story.append(self.p(self.t(
                "Comparison unavailable: "
                + (src.comparison_unavailable or "the films could not be compared.")),
                "warning"))
            return
        films = list(comp.films)
        if len(films) < 2:
            self.story.append(self.p(
                "Only one film has a timepoint: nothing to compare.", "body"))
            return
        self.story.append(self.p(self.t(self._comparison_intro(comp)), "body"))
        self.story.append(Spacer(1, 4))
        self.story.append(KeepTogether(self._heights_by_timepoint(comp)))
        for level in comp.levels:
            if level.role == "treated" and level.restoration:
                self.story.append(KeepTogether(self._restoration_table(comp, level)))
        kyphosis = [lc.kyphosis for lc in comp.levels if lc.kyphosis is not None]
        if kyphosis:
            self.story.append(KeepTogether(self._kyphosis_table(comp, kyphosis)))
        losses = [lc for lc in comp.levels if lc.height_loss and lc.role == "treated"]
        if losses:
            self.story.append(KeepTogether(self._height_loss_table(comp, losses)))
        self.story.append(KeepTogether(self._new_deformities(comp)))
        self.story.append(KeepTogether(self._trend_chart(comp)))
        notes = list(comp.notes) + [n for lc in comp.levels for n in lc.notes]
        if notes:
            self.story.append(self.p("Notes", "h2"))
            for note in dict.fromkeys(notes):
                self.story.append(self.p(self.t(note), "note"))

    def _film_column_label(self, film: Any) -> str:
        label = film.label
        if film.days_from_procedure is not None and film.timepoint.kind != "preop":
            label += f", day {film.days_from_procedure}"
        return label

    def _comparison_intro(self, comp: Any) -> str:
        treated = ", ".join(comp.treated_levels) or "none recorded"
        parts = [f"Treated level(s): {treated}."]
        if self.source.procedure:
            parts.append(f"Procedure: {self.source.procedure}.")
        unit = "each film’s unit" if comp.mixed_calibration else comp.films[0].calibration.unit_tag
        parts.append(
            f"Heights in {unit} "
            f"and as % of the reference height on the same film (magnification cancels). "
            f"Changes smaller than {comp.variability_mm:g} mm or {comp.variability_deg:g}° "
            f"are within measurement variability."
        )
        return " ".join(parts)

    def _heights_by_timepoint(self, comp: Any) -> list[Any]:
        films = list(comp.films)
        head1: list[Any] = ["Level", "Height"]
        head2: list[Any] = ["", ""]
        spans: list[tuple[tuple[int, int], tuple[int, int]]] = [((0, 0), (0, 1)),
                                                               ((1, 0), (1, 1))]
        for i, film in enumerate(films):
            col = 2 + 2 * i
            head1 += [self.p(self.t(self._film_column_label(film)), "head"), ""]
            head2 += [self.p(_esc(film.calibration.unit_tag), "head"), "% ref"]
            spans.append(((col, 0), (col + 1, 0)))
        rows: list[list[Any]] = [head1, head2]
        highlight = []
        for lc in comp.levels:
            first = len(rows)
            for k in ("a", "m", "p"):
                row: list[Any] = [lc.level + (" *" if lc.role == "treated" else "")
                                  if k == "a" else "", _HEIGHT_LABEL[k]]
                for heights, pct in zip(lc.heights_mm, lc.pct_of_reference, strict=True):
                    row.append(format_length(heights[k]) if heights else MISSING)
                    row.append(format_pct(pct.get(k)) if pct else MISSING)
                if lc.role == "treated":
                    highlight.append(len(rows))
                rows.append(row)
            spans.append(((0, first), (0, first + 2)))
        n = len(films)
        widths = self.cols([0.08, 0.11] + [0.81 / (2 * n)] * (2 * n))
        table = _table(
            rows, widths, header_rows=2, spans=spans, highlight_rows=highlight,
            align_right_from=2,
            extra=[("VALIGN", (0, 2), (0, -1), "TOP"),
                   ("FONT", (0, 2), (0, -1), FONT_BOLD, 7.8)],
        )
        return [self.p("Heights at each timepoint", "h2"), table, self.p(_esc(
            "* treated level. % ref: the height as a percentage of its reference height on "
            "the same film (mean of the placed, untreated neighbours, "
            "docs/clinical-reference.md §4)."),
            "note")]

    def _restoration_table(self, comp: Any, lc: Any) -> list[Any]:
        pre = comp.film(comp.preop_uid) if comp.preop_uid else None
        post = comp.film(comp.postop_uid) if comp.postop_uid else None
        same = _same_unit(pre, post)
        unit = pre.calibration.unit_tag if pre else ""
        if not same and pre is not None and post is not None:
            unit = f"pre-op {pre.calibration.unit_tag}, post-op {post.calibration.unit_tag}"
        head = ["Height", "Pre-op", "Post-op", "Reference", "Absolute",
                "% of initial", "% of lost", "% of reference", "Δ % ref (points)", "Note"]
        rows: list[list[Any]] = [[self.p(_esc(h), "head") for h in head]]
        for r in lc.restoration:
            note = []
            if not same:
                note.append("mm and px cannot be subtracted: compare Δ % ref")
            elif not r.mm_comparable:
                note.append("different calibration: compare Δ % ref")
            if r.within_variability:
                note.append("within variability")
            rows.append([
                _HEIGHT_LABEL[r.height],
                format_length(r.pre_mm),
                format_length(r.post_mm),
                format_length(r.reference_mm),
                format_signed_length(r.absolute_mm if same else None),
                format_signed_pct(r.pct_of_initial if same else None),
                format_signed_pct(r.pct_of_lost if same else None),
                format_signed_pct(r.pct_of_reference if same else None),
                format_signed_length(r.ratio_change_pp),
                self.p(_esc("; ".join(note)), "cell"),
            ])
        refs = ", ".join(lc.reference_levels) or "none"
        return [
            self.p(_esc(f"Height restoration at {lc.level} (pre-operative → post-operative; "
                        f"lengths in {unit})"), "h2"),
            _table(rows, self.cols([0.12, 0.08, 0.08, 0.1, 0.09, 0.09, 0.09, 0.1, 0.1, 0.15]),
                   align_right_from=1, extra=[("ALIGN", (9, 1), (9, -1), "LEFT")]),
            self.p(_esc(
                f"Reference: pre-operative {lc.reference_kind.replace('_', ' ') or 'none'} "
                f"({refs}). Absolute = Hpost − Hpre; % of initial = (Hpost − Hpre)/Hpre; "
                f"% of lost = (Hpost − Hpre)/(Href − Hpre); % of reference = "
                f"(Hpost − Hpre)/Href (McKiernan 2003). Δ % ref compares each film with its own "
                f"reference, independent of magnification."), "note"),
        ]

    def _kyphosis_table(self, comp: Any, changes: list[Any]) -> list[Any]:
        head = ["Level", "Endplates", "Pre-op", "Post-op", "Correction (pre − post)",
                "Follow-up", "Loss of correction (FU − post)", "Note"]
        rows: list[list[Any]] = [[self.p(_esc(h), "head") for h in head]]
        for k in changes:
            notes = []
            if k.correction_within_variability:
                notes.append("correction within variability")
            base = [k.level, self.p(_esc(k.endplates or MISSING), "cell"),
                    format_angle(k.pre_deg), format_angle(k.post_deg),
                    format_signed_angle(k.correction_deg)]
            if not k.losses:
                rows.append(base + [MISSING, MISSING, self.p(_esc("; ".join(notes)), "cell")])
            for i, loss in enumerate(k.losses):
                row_notes = list(notes) if i == 0 else []
                if loss.within_variability:
                    row_notes.append("loss within variability")
                lead = base if i == 0 else ["", "", "", "", ""]
                rows.append(lead + [
                    self.p(self.t(f"{loss.followup_label}: {format_angle(loss.followup_deg)}"),
                           "cell"),
                    format_signed_angle(loss.loss_deg),
                    self.p(_esc("; ".join(row_notes)), "cell"),
                ])
        return [
            self.p(_esc(f"Kyphosis (“Cobb” = {_cobb_name(comp.cobb_definition)})"), "h2"),
            _table(rows, self.cols([0.07, 0.25, 0.08, 0.08, 0.11, 0.16, 0.11, 0.14]),
                   align_right_from=2,
                   extra=[("ALIGN", (5, 1), (5, -1), "LEFT"), ("ALIGN", (7, 1), (7, -1), "LEFT"),
                          ("VALIGN", (0, 1), (-1, -1), "TOP")]),
            self.p(_esc("Kyphosis positive, lordosis negative. A positive loss of correction "
                        "means the kyphosis recurred."), "note"),
        ]

    def _height_loss_table(self, comp: Any, levels: list[Any]) -> list[Any]:
        head = ["Level", "Height", "Follow-up", "Post-op", "Follow-up value", "Loss",
                "Loss % of post", "Note"]
        rows: list[list[Any]] = [[self.p(_esc(h), "head") for h in head]]
        highlight = []
        post = comp.film(comp.postop_uid) if comp.postop_uid else None
        for lc in levels:
            for loss in lc.height_loss:
                notes = []
                same = _same_unit(post, comp.film(loss.followup_uid))
                if not same:
                    notes.append("mm and px: not comparable")
                elif not loss.mm_comparable:
                    notes.append("different calibration")
                if loss.within_variability:
                    notes.append("within variability")
                if lc.role == "treated":
                    highlight.append(len(rows))
                rows.append([
                    lc.level + (" *" if lc.role == "treated" else ""),
                    _HEIGHT_LABEL[loss.height],
                    self.p(self.t(loss.followup_label), "cell"),
                    format_length(loss.post_mm),
                    format_length(loss.followup_mm),
                    format_signed_length(loss.loss_mm if same else None),
                    format_signed_pct(loss.loss_pct_of_post if same else None),
                    self.p(_esc("; ".join(notes)), "cell"),
                ])
        unit = comp.films[0].calibration.unit_tag if not comp.mixed_calibration else "film units"
        return [
            self.p(_esc(f"Height loss at follow-up (Hpost − Hfollow-up, {unit})"), "h2"),
            _table(rows, self.cols([0.08, 0.11, 0.2, 0.1, 0.12, 0.1, 0.11, 0.18]),
                   highlight_rows=highlight, align_right_from=3,
                   extra=[("ALIGN", (7, 1), (7, -1), "LEFT")]),
        ]

    def _new_deformities(self, comp: Any) -> list[Any]:
        out = [self.p("New (incident) deformities", "h2")]
        deformities, skipped = _comparable_deformities(comp)
        for before, after in skipped:
            out.append(self.p(self.t(
                f"{before} → {after}: one film in mm, the other in pixels; heights cannot be "
                f"compared, so new deformities were not assessed between them (see the "
                f"heights as % of reference)."), "note"))
        if not deformities:
            out.append(self.p(
                "None: no height fell by ≥ 20 % and ≥ 4 mm between consecutive films at any "
                "measured level (EPOS).", "body"))
            return out
        for d in deformities:
            where = "treated level" if d.treated else "ADJACENT/OTHER LEVEL"
            text = (f"{d.level} ({where}): {_HEIGHT_NAME[d.height]} height "
                    f"{format_length(d.from_mm)} → {format_length(d.to_mm)}, fell by "
                    f"{format_pct(d.drop_pct)} ({format_length(d.drop_mm)}) from "
                    f"{d.from_label} to {d.to_label}")
            if not d.mm_tested:
                text += " (film in pixels: only the 20 % criterion tested)"
            out.append(self.p(self.t(text), "warning"))
        return out

    def _trend_chart(self, comp: Any) -> list[Any]:
        trend = comp.trend()
        drawing = _trend_drawing(trend, self.width, 62 * self.mm)
        return [
            self.p("Trend", "h2"),
            drawing,
            self.p(_esc(
                "Left: heights of the treated level(s) as % of reference on each film. "
                f"Right: kyphosis (“Cobb” = {_cobb_name(trend.kyphosis_definition)}), "
                "degrees."), "note"),
        ]

    # -- suitability -----------------------------------------------------------------------
    def suitability(self) -> None:
        """The suitability summary (docs/clinical-reference.md §6) from
        :func:`ovcf_viewer.core.suitability.evaluate`."""
        from reportlab.platypus import CondPageBreak, KeepTogether, Spacer

        src = self.source
        if src.evaluation is None and not src.suitability_unavailable:
            return
        self.story.append(CondPageBreak(self.frame_height * 0.45))
        self.story.append(self.heading("Procedure suitability (decision support)"))
        ev = src.evaluation
        if ev is None:
            self.story.append(self.p(self.t(src.suitability_unavailable), "warning"))
            self.story.append(self.p(_esc(DISCLAIMER), "disclaimer"))
            return
        self.story.append(self.p(self.t(
            f"Measured inputs: {src.suitability_film}. Rules: {ev.rules_name} {ev.rules_version}. "
            f"Confidence: {ev.confidence_text}."), "body"))
        self.story.append(self.p(_esc(ev.disclaimer), "disclaimer"))
        self.story.append(Spacer(1, 4))
        head = ["Option", "Status", "Reasons (source)"]
        rows: list[list[Any]] = [[self.p(_esc(h), "head") for h in head]]
        extra: list[tuple[Any, ...]] = [("VALIGN", (0, 0), (-1, -1), "TOP")]
        for option in ev.options:
            reasons = "<br/>".join(
                f"<b>{_esc(_REASON_PREFIX.get(r.effect, r.effect))}:</b> {self.t(r.text)} "
                f"<font color='#5f6b78'>[{_esc(r.source)}]</font>"
                for r in option.reasons
            ) or "—"
            rows.append([
                self.p(_esc(option.label), "cell_bold"),
                self.p(f"<font color='{_STATUS_COLOURS.get(option.status, '#1a1f26')}'>"
                       f"<b>{_esc(option.status)}</b></font>", "cell"),
                self.p(reasons, "cell"),
            ])
        self.story.append(_table(rows, self.cols([0.17, 0.12, 0.71]), extra=extra))
        self.story.append(Spacer(1, 6))
        approach = ev.approach
        lines = [f"<b>Approach:</b> {_esc(approach.suggested)}"]
        lines += [f"&nbsp;&nbsp;{_esc(_REASON_PREFIX.get(r.effect, r.effect))}: {self.t(r.text)} "
                  f"<font color='#5f6b78'>[{_esc(r.source)}]</font>" for r in approach.reasons]
        viscosity = ", ".join(f"{_OPTION_SHORT.get(k, k)}: {v}"
                              for k, v in ev.cement_viscosity.viscosity.items())
        lines.append(f"<b>Cement viscosity:</b> {_esc(viscosity)}")
        hint = ev.of_type_hint
        lines.append(f"<b>OF type hint (app):</b> {_esc(hint.of_type or 'none')} — "
                     f"{self.t(hint.reason)}")
        self.story.append(KeepTogether(
            [self.p("<br/>".join(lines), "body"), Spacer(1, 6)] + self._of_score_table(ev)))
        self.story.append(KeepTogether(self._inputs_table(ev)))

    def _of_score_table(self, ev: Any) -> list[Any]:
        score = ev.of_score
        rows: list[list[Any]] = [[self.p("Item", "head"), self.p("Points", "head"),
                                  self.p("Detail", "head")]]
        for item in score.items:
            rows.append([
                self.p(_esc(item.label), "cell"),
                format_points(item.points),
                self.p(self.t(item.detail), "cell"),
            ])
        total = format_points(score.total) if score.total is not None else "unknown"
        recommendation = score.recommendation or "cannot be given (OF type unknown)"
        rows.append([self.p("<b>Total</b>", "cell"), total,
                     self.p(f"<b>{_esc(recommendation)}</b>", "cell")])
        return [
            self.p("Modified OF score", "h2"),
            _table(rows, self.cols([0.36, 0.1, 0.54]),
                   extra=[("ALIGN", (1, 1), (1, -1), "RIGHT"),
                          ("VALIGN", (0, 0), (-1, -1), "TOP"),
                          ("LINEABOVE", (0, -1), (-1, -1), 0.6, _color(_ACCENT)),
                          ("FONT", (1, -1), (1, -1), FONT_BOLD, 7.8)]),
            self.p(self.t(f"{score.caveat} Source: {score.source}."), "note"),
        ]

    def _inputs_table(self, ev: Any) -> list[Any]:
        from ovcf_viewer.core.suitability import MEASURED_NAMES, finding_label

        rows: list[list[Any]] = [[self.p("Measured input", "head"), self.p("Value", "head"),
                                  self.p("Provenance", "head")]]
        for name in MEASURED_NAMES:
            value = getattr(ev.measured, name)
            rows.append([
                self.p(_esc(_MEASURED_LABELS.get(name, name)), "cell"),
                self.p(_esc(_plain_value(name, value.value)), "cell"),
                self.p(self.t(value.provenance()), "cell"),
            ])
        findings = ev.findings.to_dict()
        known = [f"{finding_label(k)}: {_plain_value(k, v)}" for k, v in findings.items()
                 if k not in ("format", "version", "measured_overrides") and v is not None]
        unknown = [finding_label(n) for n in ev.unknown_inputs]
        return [
            self.p("Inputs", "h2"),
            _table(rows, self.cols([0.3, 0.14, 0.56]),
                   extra=[("VALIGN", (0, 0), (-1, -1), "TOP")]),
            self.p("<b>Findings entered:</b> " + self.t("; ".join(known) or "none"), "small"),
            self.p("<b>Unknown (not guessed):</b> " + self.t("; ".join(unknown) or "none"),
                   "small"),
        ]

    # -- calibration and definitions -------------------------------------------------------
    def definitions(self) -> None:
        from reportlab.platypus import CondPageBreak, KeepTogether, Spacer

        st = self.settings
        self.story.append(CondPageBreak(self.frame_height * 0.3))
        self.story.append(self.heading("Calibration and definitions"))
        rows: list[list[Any]] = [[self.p("Film", "head"), self.p("Source", "head"),
                                  self.p("Row × column spacing", "head"),
                                  self.p("Statement", "head")]]
        for film in self.source.films:
            cal = film.calibration
            spacing = (f"{cal.row_mm:.4g} × {cal.col_mm:.4g} mm/px"
                       if cal.is_calibrated else "none (pixels)")
            statement = cal.statement()
            if film.is_missing:
                statement += f". {film.missing_reason}"
            rows.append([
                self.p(_esc(film.timepoint.label if film.timepoint else "Film"), "cell"),
                self.p(_esc(cal.unit_tag), "cell"),
                self.p(_esc(spacing), "cell"),
                self.p(_esc(statement), "cell"),
            ])
        self.story.append(KeepTogether([
            _table(rows, self.cols([0.17, 0.15, 0.17, 0.51]),
                   extra=[("VALIGN", (0, 0), (-1, -1), "TOP")]),
        ]))
        if any(f.calibration.source.value == "detector" for f in self.source.films):
            self.story.append(self.p(_esc(
                "“mm at detector”: Imager Pixel Spacing without magnification correction; on a "
                "lateral lumbar film this overstates true size by roughly 5–40 %. Compare such "
                "films by ratio and angle."), "note"))
        self.story.append(Spacer(1, 6))
        definitions = [
            ("Landmarks", "Six points per vertebral body: superior and inferior endplate, "
             "anterior, middle (deepest point) and posterior (docs/clinical-reference.md §2)."),
            ("Heights", "Ha = |sa−ia|, Hm = |sm−im|, Hp = |sp−ip|; distances in mm use the "
             "row and column spacing separately (§1, §3)."),
            ("Deformity ratios", f"Wedge Ha/Hp, biconcavity Hm/Hp, crush Hp/Hp ref; below "
             f"{DEFORMITY_RATIO:.2f} is a deformity (Siminoski 2006; EPOS)."),
            ("Genant grade", f"Reference: {_reference_name(st)} (setting). Reduction r = max "
             f"over a, m, p of (1 − H/H ref): grade 0 r < 20 %, 1 20–25 %, 2 25–40 %, "
             f"3 > 40 %; type wedge, biconcave or crush by the most reduced height (§4)."),
            ("Cobb angle", f"The report's “Cobb” is the {_cobb_name(st.cobb_definition)} "
             f"(setting). Segmental kyphosis: superior endplate (sp→sa) of the vertebra above "
             f"to inferior endplate (ip→ia) of the vertebra below; vertebral wedge angle: the "
             f"index vertebra's own endplates. Kyphosis positive, lordosis negative (§3)."),
            ("Restoration", "Height restoration in mm, % of initial height, % of lost "
             "height and % of reference height (McKiernan 2003); kyphosis correction "
             "θpre − θpost, loss of correction θfollow-up − θpost (§5)."),
            ("Incident deformity", "A height falling by ≥ 20 % and ≥ 4 mm between two "
             "films (EPOS, §5)."),
            ("Variability", f"Changes smaller than {st.variability_deg:g}° or "
             f"{st.variability_mm:g} mm are within measurement variability (setting; Morrissy "
             f"1990, Alanay 2007)."),
            ("Magnification", "Correction by the radiographic magnification factor is "
             + ("enabled" if st.use_magnification else "disabled") + " (setting)."),
        ]
        rows = [[self.p(_esc(a), "head"), self.p(_esc(b), "cell")] for a, b in definitions]
        self.story.append(KeepTogether([
            self.p("Definitions used", "h2"),
            _table(rows, self.cols([0.18, 0.82]), header_rows=0,
                   extra=[("VALIGN", (0, 0), (-1, -1), "TOP"),
                          ("BACKGROUND", (0, 0), (0, -1), _color(_HEADER_FILL))]),
        ]))

    # -- signature -------------------------------------------------------------------------
    def signature(self) -> None:
        from reportlab.platypus import KeepTogether, Spacer, Table, TableStyle

        line = "_" * 34
        physician = self.settings.physician or ""
        rows = [
            [self.p("Reviewed and signed", "h2"), ""],
            [self.p(_esc(f"Name: {physician}" if physician else "Name:"), "body"),
             self.p("Date:", "body")],
            [Spacer(1, 16), Spacer(1, 16)],
            [self.p(line, "body"), self.p(line, "body")],
            [self.p("Signature", "small"), self.p("Date", "small")],
        ]
        table = Table(rows, colWidths=[self.width * 0.5, self.width * 0.5], hAlign="LEFT")
        table.setStyle(TableStyle([
            ("SPAN", (0, 0), (1, 0)),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("TOPPADDING", (0, 0), (-1, -1), 1),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ]))
        self.story.append(KeepTogether([
            Spacer(1, 10), table, Spacer(1, 8),
            self.p(_esc(DISCLAIMER), "disclaimer"),
            self.p(_esc(
                f"Generated by OVCF Viewer {__version__}. Measurements are computed exactly "
                f"from the landmarks shown; their accuracy is that of the landmark placement "
                f"(about ±2–6 mm in height and ±5° in kyphosis between repeat readings)."),
                "small"),
        ]))

    # -- page decoration -------------------------------------------------------------------
    def decorate(self, canvas: Any, doc: Any) -> None:
        """Running header and footer on every page ("Page N of M" is added at save time)."""
        c = canvas
        w, h = self.page
        c.saveState()
        top = h - 13 * self.mm
        c.setFont(FONT_BOLD, 8)
        c.setFillColor(_color(_ACCENT))
        c.drawString(self.margin_x, top, self.settings.institution or "OVCF Viewer")
        c.setFont(FONT, 7.6)
        c.setFillColor(_color(_MUTED))
        c.drawRightString(w - self.margin_x, top, self._running_patient())
        c.setStrokeColor(_color(_ACCENT))
        c.setLineWidth(0.6)
        c.line(self.margin_x, top - 4, w - self.margin_x, top - 4)
        bottom = 11 * self.mm
        c.setStrokeColor(_color(_RULE))
        c.setLineWidth(0.4)
        c.line(self.margin_x, bottom + 9, w - self.margin_x, bottom + 9)
        c.setFont(FONT, 6.8)
        c.setFillColor(_color(_MUTED))
        c.drawString(
            self.margin_x, bottom,
            f"OVCF Viewer {__version__} · {REPORT_TITLE} · "
            f"{self.report_date.strftime('%Y-%m-%d')} · {DISCLAIMER}",
        )
        c.restoreState()

    def _running_patient(self) -> str:
        if self.deidentify:
            return f"Patient: {DEIDENTIFIED}"
        patient = self.source.patient
        if patient is None:
            return REPORT_TITLE
        parts = [format_patient_name(patient.name)]
        if patient.patient_id:
            parts.append(f"ID {patient.patient_id}")
        if patient.birth_date:
            parts.append(f"born {patient.birth_date.isoformat()}")
        return " · ".join(p for p in parts if p)


def _same_unit(a: Any, b: Any) -> bool:
    """Whether two compared films measure lengths in the same unit (mm or px); mm and px
    cannot be subtracted or divided into a percentage (docs/clinical-reference.md §1)."""
    return a is None or b is None or a.calibration.unit == b.calibration.unit


def _comparable_deformities(comp: Any) -> tuple[list[Any], list[tuple[str, str]]]:
    """The comparison's new deformities between films measured in the same unit, and the
    film pairs (labels) left out because one is in mm and the other in pixels."""
    kept = [d for d in comp.new_deformities
            if _same_unit(comp.film(d.from_uid), comp.film(d.to_uid))]
    films = list(comp.films)
    skipped = [(a.label, b.label) for a, b in zip(films, films[1:], strict=False)
               if not _same_unit(a, b)]
    return kept, skipped


def _color(rgb: tuple[float, float, float]) -> Any:
    from reportlab.lib.colors import Color

    return Color(*rgb)


def _cobb_name(definition: str) -> str:
    return {
        "segmental": "segmental (bisegmental) kyphosis",
        "vertebral_wedge": "vertebral wedge angle",
    }.get(definition, definition)


def _reference_name(settings: Settings) -> str:
    return {
        "adjacent": "adjacent vertebrae (mean of the placed, non-fractured neighbours)",
        "own_posterior": "vertebra's own posterior height",
    }.get(settings.genant_reference, settings.genant_reference)


def _numbered_canvas_class(builder: _Builder) -> type:
    """A canvas that remembers every page and writes "Page N of M" once M is known."""
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._saved_pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's API)
            self._saved_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved_pages)
            for state in self._saved_pages:
                self.__dict__.update(state)
                self.setFont(FONT, 6.8)
                self.setFillColor(_color(_MUTED))
                self.drawRightString(
                    builder.page[0] - builder.margin_x, 11 * builder.mm,
                    f"Page {self._pageNumber} of {total}",
                )
                super().showPage()
            super().save()

    return NumberedCanvas


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def build_report(
    source: ReportSource,
    settings: Settings | None = None,
    *,
    deidentify: bool = False,
    page_size: str | None = None,
    report_date: datetime | None = None,
) -> bytes:
    """The report as PDF bytes. ``page_size`` overrides ``settings.page_size`` (A4/Letter).

    With ``deidentify`` no patient name, ID, birth date or sex, no film date and no file name
    appears anywhere in the PDF, its metadata included.
    """
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate

    settings = settings or Settings()
    if not source.films:
        raise ReportError("nothing to report: no annotated film")
    _register_fonts()
    page = page_size_points(page_size or settings.page_size)
    builder = _Builder(
        source, settings, deidentify=deidentify, page=page,
        report_date=report_date or datetime.now(),
    )
    builder.header_block()
    builder.summary()
    builder.comparison()
    builder.film_sections()
    builder.suitability()
    builder.definitions()
    builder.signature()

    out = io.BytesIO()
    title = REPORT_TITLE
    if not deidentify and source.patient is not None and source.patient.name:
        title += f" — {format_patient_name(source.patient.name)}"
    doc = BaseDocTemplate(
        out,
        pagesize=page,
        leftMargin=builder.margin_x,
        rightMargin=builder.margin_x,
        topMargin=builder.margin_top,
        bottomMargin=builder.margin_bottom,
        title=title,
        author=settings.physician or "OVCF Viewer",
        subject=DEIDENTIFIED + " vertebral morphometry" if deidentify
        else "Vertebral morphometry",
        creator=f"OVCF Viewer {__version__}",
        producer=f"OVCF Viewer {__version__} (reportlab)",
        keywords="",
    )
    frame = Frame(
        builder.margin_x, builder.margin_bottom, builder.width, builder.frame_height,
        leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="body",
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=builder.decorate)])
    from reportlab import rl_config

    # Binary (Flate only) streams: reportlab's pure-Python ASCII85 encoder would take about
    # 0.6 s per image crop; restored afterwards so other reportlab users are unaffected.
    saved_a85 = rl_config.useA85
    rl_config.useA85 = 0
    try:
        doc.build(builder.story, canvasmaker=_numbered_canvas_class(builder))
    except Exception as exc:  # reportlab raises LayoutError and friends
        raise ReportError(f"could not lay out the report: {exc}") from exc
    finally:
        rl_config.useA85 = saved_a85
    return out.getvalue()


def write_report(path: str | Path, pdf: bytes) -> None:
    """Write the PDF atomically; :class:`ReportError` with a one-line message on failure."""
    from ovcf_viewer.core.atomic import atomic_write_bytes

    try:
        atomic_write_bytes(path, pdf)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------------------------
# Small helpers of the sections
# --------------------------------------------------------------------------------------------

_HEIGHT_LABEL = {"a": "Ha anterior", "m": "Hm middle", "p": "Hp posterior"}
_HEIGHT_NAME = {"a": "anterior", "m": "middle", "p": "posterior"}
_REASON_PREFIX = {
    "contraindicate": "Contraindication",
    "caution": "Caution",
    "against": "Against",
    "favour": "For",
    "note": "Note",
    "unilateral": "Unilateral",
    "bilateral": "Bilateral",
}
_STATUS_COLOURS = {
    "favoured": "#1e6b34",
    "possible": "#3b4652",
    "caution": "#9a5b00",
    "contraindicated": "#b31e14",
}
_OPTION_SHORT = {"pvp": "PVP", "pkp": "PKP", "expandable": "expandable augmentation"}
_MEASURED_LABELS = {
    "worst_genant_grade": "Worst Genant grade",
    "worst_height_reduction_pct": "Worst height reduction",
    "worst_fracture_type": "Fracture type (worst level)",
    "segmental_kyphosis_deg": "Segmental kyphosis",
    "fractured_levels": "Fractured levels (Genant ≥ 1)",
    "vertebra_plana": "Vertebra plana",
    "deformity_progression": "Deformity progression since earlier films",
}


def format_points(value: float | None) -> str:
    """OF score points: whole numbers without decimals, signed ("+1", "−1", "6")."""
    if value is None:
        return "unknown"
    text = f"{value:g}"
    if text.startswith("-"):
        return _MINUS + text[1:]
    return text


def _plain_value(name: str, value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name.endswith("_pct"):
        return format_pct(float(value))
    if name.endswith("_deg"):
        return format_angle(float(value))
    if isinstance(value, float):
        return f"{value:g}".replace("-", _MINUS)
    return str(value)


def _replace_ci(text: str, term: str, replacement: str) -> str:
    import re

    pattern = re.escape(term)
    if term[:1].isalnum():
        pattern = r"(?<![A-Za-z0-9])" + pattern
    if term[-1:].isalnum():
        pattern += r"(?![A-Za-z0-9])"
    return re.sub(pattern, replacement, text, flags=re.IGNORECASE)


def _identifying_terms(source: ReportSource) -> list[str]:
    """Strings that identify the patient: name parts, ID, birth date in the usual spellings,
    and the films' paths and file names (they often carry the name). Longest first."""
    terms: set[str] = set(source.identifying_terms)
    patient = source.patient
    if patient is not None:
        for part in patient.name.replace("=", "^").replace(",", "^").split("^"):
            for word in part.split():
                if len(word) >= 2:
                    terms.add(word)
        if patient.name.strip():
            terms.add(patient.name.strip())
        if patient.patient_id.strip():
            terms.add(patient.patient_id.strip())
        if patient.birth_date is not None:
            b = patient.birth_date
            terms.update({b.isoformat(), b.strftime("%Y%m%d"), b.strftime("%d.%m.%Y"),
                          b.strftime("%m/%d/%Y"), b.strftime("%d/%m/%Y")})
    for film in source.films:
        if film.file_name:
            terms.add(film.file_name)
        if film.image is not None and film.image.path is not None:
            terms.add(str(film.image.path))
            terms.add(film.image.path.name)
    return sorted((t for t in terms if t), key=len, reverse=True)


def _trend_drawing(trend: Any, width: float, height: float) -> Any:
    """Two vector panels: treated-level heights as % of reference (left) and kyphosis
    (right) per timepoint. Lines differ by dash pattern and marker, not colour alone, so the
    chart reads on a black-and-white printout."""
    from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String

    drawing = Drawing(width, height)
    points = trend.points
    n = len(points)
    gap = 26.0
    panel_w = (width - gap) / 2

    def panel(x0: float, title: str, series: list[tuple[str, list[float | None], Any, Any]],
              unit: str, lo_hi: tuple[float, float] | None) -> None:
        top, bottom, left, right = height - 14, 30.0, x0 + 30, x0 + panel_w - 6
        drawing.add(String(x0, height - 8, title, fontName=FONT_BOLD, fontSize=7.6,
                           fillColor=_color(_INK)))
        values = [v for _l, vs, _c, _d in series for v in vs if v is not None]
        if not values:
            drawing.add(String(left, (top + bottom) / 2, "not measurable on these films",
                               fontName=FONT_ITALIC, fontSize=7, fillColor=_color(_MUTED)))
            return
        lo, hi = (min(values), max(values)) if lo_hi is None else lo_hi
        lo, hi = min(lo, min(values)), max(hi, max(values))
        pad = max((hi - lo) * 0.12, 2.0)
        lo, hi = lo - pad, hi + pad
        step = _nice_step((hi - lo) / 4)
        lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
        drawing.add(Rect(left, bottom, right - left, top - bottom, strokeColor=_color(_RULE),
                         strokeWidth=0.5, fillColor=None))

        def y_of(v: float) -> float:
            return bottom + (v - lo) / (hi - lo) * (top - bottom)

        def x_of(i: int) -> float:
            return left + (i + 0.5) * (right - left) / max(n, 1)

        tick = lo
        while tick <= hi + 1e-9:
            y = y_of(tick)
            drawing.add(Line(left, y, right, y, strokeColor=_color(_RULE), strokeWidth=0.25))
            drawing.add(String(left - 3, y - 2.3, _num(tick, 0) + unit, fontName=FONT,
                               fontSize=6.2, fillColor=_color(_MUTED), textAnchor="end"))
            tick += step
        if unit == "%" and lo < 100 < hi:
            drawing.add(Line(left, y_of(100), right, y_of(100), strokeColor=_color(_MUTED),
                             strokeWidth=0.6))
        for i, point in enumerate(points):
            label = point.label.split(" (")[0]
            label = {"Pre-operative": "Pre-op", "Post-operative": "Post-op"}.get(label, label)
            drawing.add(String(x_of(i), bottom - 9, label, fontName=FONT, fontSize=6.4,
                               fillColor=_color(_INK), textAnchor="middle"))
            if point.days_from_procedure is not None and point.kind != "preop":
                drawing.add(String(x_of(i), bottom - 17, f"day {point.days_from_procedure}",
                                   fontName=FONT, fontSize=5.8, fillColor=_color(_MUTED),
                                   textAnchor="middle"))
        legend_x = left
        for label, vs, colour, dash in series:
            coords = [(x_of(i), y_of(v)) for i, v in enumerate(vs) if v is not None]
            if len(coords) >= 2:
                drawing.add(PolyLine([c for xy in coords for c in xy], strokeColor=colour,
                                     strokeWidth=1.1, strokeDashArray=dash))
            known = [v for v in vs if v is not None]
            for j, ((x, y), v) in enumerate(zip(coords, known, strict=True)):
                drawing.add(Circle(x, y, 1.8, fillColor=colour, strokeColor=None))
                # label on the side the outgoing line does not take (below when it rises)
                rises = j + 1 < len(coords) and coords[j + 1][1] > y + 0.5
                dy = -8.0 if rises else 2.5
                drawing.add(String(x + 3.5, y + dy, _num(v, 1 if unit == "°" else 0) + unit,
                                   fontName=FONT,
                                   fontSize=5.6, fillColor=colour))
            drawing.add(Line(legend_x, 4, legend_x + 12, 4, strokeColor=colour,
                             strokeWidth=1.1, strokeDashArray=dash))
            drawing.add(String(legend_x + 15, 2, label, fontName=FONT, fontSize=6.2,
                               fillColor=_color(_INK)))
            legend_x += 22 + len(label) * 3.4

    palette = [(_color((0.12, 0.35, 0.62)), None), (_color((0.80, 0.42, 0.05)), [3, 2]),
               (_color((0.25, 0.55, 0.30)), [1, 1.6]), (_color((0.45, 0.2, 0.5)), [5, 2, 1, 2])]
    height_series = []
    for level in trend.treated_levels:
        for j, key in enumerate(("a", "m", "p")):
            values = list(trend.heights_pct.get(level, {}).get(key, ()))
            if values:
                colour, dash = palette[j % len(palette)]
                height_series.append((f"{level} H{key}", values, colour, dash))
    panel(0.0, "Height, % of reference", height_series, "%", (80.0, 100.0))
    kyph_series = []
    for j, level in enumerate(trend.treated_levels):
        values = list(trend.kyphosis_deg.get(level, ()))
        colour, dash = palette[j % len(palette)]
        kyph_series.append((f"{level} kyphosis", values, colour, dash))
    panel(panel_w + gap, "Kyphosis (°)", kyph_series, "°", None)
    return drawing


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    exponent = math.floor(math.log10(raw))
    base = 10**exponent
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * base:
            return m * base
    return 10 * base


# --------------------------------------------------------------------------------------------
# From a case (or annotation files) to a ReportSource
# --------------------------------------------------------------------------------------------


def prepare_report(
    case: Any,
    settings: Settings | None = None,
    *,
    findings: Any = None,
    images: dict[str, RadiographImage] | None = None,
) -> ReportSource:
    """Load, calibrate, measure, compare and evaluate a :class:`~ovcf_viewer.core.case.Case`.

    ``images`` maps SOP Instance UID → an already loaded image (the GUI passes its own);
    other films are read from their paths. A film whose file is missing or unreadable is
    reported as "film missing" with its landmarks; its lengths use its manual calibration or
    pixels (docs/clinical-reference.md §1). ``findings`` is a
    :class:`~ovcf_viewer.core.suitability.Findings`; without it the case's saved findings are
    used, and without those the suitability section says none were entered.
    """
    from ovcf_viewer.core.comparison import compare
    from ovcf_viewer.core.dicom_io import load_image
    from ovcf_viewer.core.errors import ImageLoadError

    settings = settings or Settings()
    images = dict(images or {})
    calibrations: dict[str, Calibration] = {}
    missing: dict[str, str] = {}
    for film in case.films:
        uid = film.sop_instance_uid
        if uid not in images:
            if film.path is None:
                missing[uid] = f"Film missing: no image file recorded for the {film.label} film"
                continue
            try:
                images[uid] = load_image(film.path)
            except ImageLoadError as exc:
                what = (f"unreadable ({exc.message})" if Path(film.path).exists()
                        else "not found")
                missing[uid] = f"Film missing: {film.label} image {Path(film.path).name} {what}"
                continue
        loaded = images[uid]
        calibrations[uid] = loaded.calibration(
            use_magnification=settings.use_magnification,
            manual=film.annotations.manual_calibration,
        )
    source = ReportSource(films=[], procedure=_procedure_label(case),
                          treated_levels=tuple(case.treated_levels))
    try:
        comparison = compare(case, settings, calibrations)
    except ValueError as exc:  # coincident landmarks and the like
        comparison = None
        source.comparison_unavailable = str(exc)
    measured = {f.sop_instance_uid: f for f in comparison.films} if comparison else {}
    ordered = sorted(case.films, key=lambda f: _film_order(case, f))
    for film in ordered:
        uid = film.sop_instance_uid
        image = images.get(uid)
        if uid in measured:
            calibration = measured[uid].calibration
            result: ImageMeasurements | None = measured[uid].measurements
            problem = ""
        else:
            calibration = calibrations.get(uid) or (
                film.annotations.manual_calibration or Calibration.none("film missing")
            )
            result, problem = _measure_safely(film.annotations, calibration, settings)
        annotations = film.annotations
        if film.timepoint is not None and annotations.timepoint != film.timepoint:
            annotations = ImageAnnotations.from_json(annotations.to_json(partial=True),
                                                     partial=True)
            annotations.timepoint = film.timepoint
        source.films.append(ReportFilm(
            annotations=annotations,
            calibration=calibration,
            measurements=result,
            image=image,
            file_name=Path(film.path).name if film.path else "",
            missing_reason=missing.get(uid, ""),
            problem=problem,
        ))
        if image is None and film.path is not None:
            source.identifying_terms += [str(film.path), Path(film.path).name]
    source.comparison = comparison
    source.patient, warning = _patient_of(case, source.films)
    if warning:
        source.warnings.append(warning)
    if case.case_id:
        source.identifying_terms.append(case.case_id)
    _add_suitability(source, case, settings, findings)
    return source


def _film_order(case: Any, film: Any) -> tuple[int, int]:
    chronological = case.chronological_films()
    for i, other in enumerate(chronological):
        if other.sop_instance_uid == film.sop_instance_uid:
            return (0, i)
    return (1, list(case.films).index(film))


def _procedure_label(case: Any) -> str:
    from ovcf_viewer.core.case import PROCEDURE_LABELS

    parts = []
    if case.procedure:
        parts.append(PROCEDURE_LABELS.get(case.procedure, case.procedure))
    if case.approach:
        parts.append(case.approach)
    return ", ".join(parts)


def _measure_safely(
    annotations: ImageAnnotations, calibration: Calibration, settings: Settings
) -> tuple[ImageMeasurements | None, str]:
    from ovcf_viewer.core.measurements import measure_image

    try:
        return measure_image(annotations, calibration, settings), ""
    except ValueError as exc:
        return None, f"Measurements unavailable: {exc}"


def _patient_of(case: Any, films: list[ReportFilm]) -> tuple[PatientInfo | None, str]:
    """The patient from the films' headers (else the case document); a warning when the
    films name different patients."""
    from ovcf_viewer.core.image import PatientInfo

    infos = [f.image.patient for f in films if f.image is not None]
    ids = {p.patient_id for p in infos if p.patient_id}
    warning = ""
    if len(ids) > 1:
        warning = ("Warning: the films carry different Patient IDs; check that they belong "
                   "to one patient.")
    for info in infos:
        if info.name or info.patient_id:
            return info, warning
    if case.patient_name or case.patient_id:
        return PatientInfo(name=case.patient_name, patient_id=case.patient_id), warning
    return None, warning


def _add_suitability(source: ReportSource, case: Any, settings: Settings, findings: Any) -> None:
    """Evaluate the suitability rules (docs/clinical-reference.md §6) on the pre-operative film (the
    decision point; else the earliest film), with earlier films for deformity progression."""
    from ovcf_viewer.core.suitability import (
        FilmMeasurements,
        FindingsError,
        RulesError,
        choose_films,
        evaluate,
        findings_from_dict,
        measured_inputs_from,
        rules_for_settings,
    )

    if findings is None:
        if not case.findings:
            source.suitability_unavailable = (
                "No clinical findings entered: the suitability rules were not evaluated "
                "(give --findings FINDINGS.json or enter them in the suitability panel)."
            )
            return
        try:
            findings = findings_from_dict(case.findings, where="case findings")
        except FindingsError as exc:
            raise ReportError(f"suitability cannot be evaluated: {exc}") from None
    comp = source.comparison
    if comp is None or not comp.films:
        source.suitability_unavailable = "Suitability unavailable: no film could be measured."
        return
    # The same choice as ``ovcf-viewer suitability``: the latest pre-operative film, earlier
    # pre-operative films for progression (suitability.choose_films).
    candidates = [
        FilmMeasurements(
            f"{f.label.lower()} film", f.measurements, f.timepoint.kind,
            f.date.isoformat() if f.date else None, i,
        )
        for i, f in enumerate(comp.films)
    ]
    try:
        rules = rules_for_settings(settings)
        current, earlier, why = choose_films(candidates)
        measured = measured_inputs_from(
            current.measurements, list(comp.treated_levels) or None,
            [(f.label, f.measurements) for f in earlier] or None,
            film=current.label, rules=rules,
        )
        source.evaluation = evaluate(findings, measured, rules)
    except (RulesError, FindingsError, OSError, ValueError) as exc:
        # Findings were given, so the clinician expects the suitability section: a report
        # without it would be a silently degraded clinical document. Refuse instead.
        raise ReportError(f"suitability cannot be evaluated: {exc}") from None
    source.suitability_film = why


def prepare_report_from_paths(
    paths: Sequence[str | Path],
    settings: Settings | None = None,
    *,
    findings_path: str | Path | None = None,
) -> ReportSource:
    """:func:`prepare_report` for command-line INPUTs: one case document or a set of
    exchange-format annotation files (as ``export-csv``). Raises :class:`ReportError` with a
    one-line message for bad input."""
    from ovcf_viewer.core.case import CaseFormatError, load_case_inputs

    findings = None
    if findings_path is not None:
        from ovcf_viewer.core.suitability import FindingsError, load_findings

        try:
            findings = load_findings(findings_path)
        except FindingsError as exc:
            raise ReportError(str(exc)) from None
    try:
        case = load_case_inputs([Path(p) for p in paths])
    except (CaseFormatError, OSError) as exc:
        raise ReportError(str(exc)) from None
    return prepare_report(case, settings, findings=findings)
