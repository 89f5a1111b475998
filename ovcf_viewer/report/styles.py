"""Typography of the report: the embedded font, colours, paragraph styles and tables.
reportlab is imported inside the functions."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
    # no paragraph leaves a lone line at the top or the foot of a page
    body = ParagraphStyle("body", fontName=FONT, fontSize=8.6, leading=11.4, textColor=ink,
                          allowWidows=0, allowOrphans=0)
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
    from reportlab.platypus import TableStyle

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
    table = _table_class()(rows, colWidths=col_widths, repeatRows=header_rows, hAlign="LEFT")
    table.setStyle(TableStyle(commands))
    return table


#: A table split across pages keeps at least this many body rows on each side.
MIN_ROWS_AT_BREAK = 2


@functools.cache
def _table_class() -> type:
    """reportlab's Table that never leaves fewer than :data:`MIN_ROWS_AT_BREAK` body rows
    alone at the foot or the top of a page (a lone row under a repeated header reads as a
    different table): such a split is moved up a row or two, or the table goes whole to the
    next page."""
    from reportlab.platypus import Table

    class _Table(Table):
        def split(self, avail_width: float, avail_height: float) -> list[Any]:
            parts = super().split(avail_width, avail_height)
            if len(parts) != 2:
                return list(parts)
            head = self.repeatRows if isinstance(self.repeatRows, int) else 0
            first = len(parts[0]._cellvalues) - head
            second = len(parts[1]._cellvalues) - head
            if second >= MIN_ROWS_AT_BREAK and first >= MIN_ROWS_AT_BREAK:
                return list(parts)
            if first < MIN_ROWS_AT_BREAK:
                return []  # too little room here: the whole table starts the next page
            # give up the rows the next page needs: split above them
            keep = first - (MIN_ROWS_AT_BREAK - second)
            if keep < MIN_ROWS_AT_BREAK:
                return []
            height = sum(self._rowHeights[:head + keep])
            return list(super().split(avail_width, min(avail_height, height + 0.5)))

    return _Table


def _color(rgb: tuple[float, float, float]) -> Any:
    from reportlab.lib.colors import Color

    return Color(*rgb)


def _keyed(table: Any, key: Sequence[Any]) -> Any:
    """``table`` with its ``key`` (notes, warnings) right under its last rows, wherever the
    page breaks: when the key does not fit under the table, the table's last rows (at least
    :data:`MIN_ROWS_AT_BREAK`) go with it to the next page, or the whole table does, so a
    page never opens on a key without the rows it explains."""
    return _keyed_class()(table, list(key))


@functools.cache
def _keyed_class() -> type:
    from reportlab.platypus import Flowable

    class _Keyed(Flowable):
        def __init__(self, table: Any, key: list[Any]) -> None:
            super().__init__()
            self.table, self.key = table, key
            self._sizes: list[float] = []

        def _key_height(self, width: float, height: float) -> float:
            self._sizes = [f.wrap(width, height)[1] for f in self.key]
            return sum(h + f.getSpaceBefore() + f.getSpaceAfter()
                       for f, h in zip(self.key, self._sizes, strict=True))

        def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
            self._table_height = self.table.wrap(avail_width, avail_height)[1]
            self._width = avail_width
            return avail_width, self._table_height + self._key_height(avail_width,
                                                                      avail_height)

        def draw(self) -> None:
            y = self._key_height(self._width, 1e6)
            self.table.drawOn(self.canv, 0, y)
            for flowable, height in zip(self.key, self._sizes, strict=True):
                y -= flowable.getSpaceBefore() + height
                flowable.drawOn(self.canv, 0, y)
                y -= flowable.getSpaceAfter()

        def split(self, avail_width: float, avail_height: float) -> list[Any]:
            table_height = self.table.wrap(avail_width, avail_height)[1]
            if table_height <= avail_height:  # the table fits, its key does not: break
                avail_height = table_height - 0.5  # above the last rows
            parts = self.table.split(avail_width, avail_height)
            if len(parts) != 2:
                return []  # the whole table and its key start the next page
            return [parts[0], _Keyed(parts[1], self.key)]

    return _Keyed
