"""Reading PDFs back in tests with pure-Python wheels only: text, text positions and images
with pypdf, page pixels with pypdfium2. Nothing here needs a system tool, so the tests run
wherever the README's two commands do (Linux, macOS, Windows).

PDF user space has its origin at the bottom-left of the page, y up; every position returned
here is converted to the top-left origin, y down (the way a page is read and rendered).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def reader(pdf: bytes | Path) -> PdfReader:
    return PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf)


def multiply(m: Matrix, n: Matrix) -> Matrix:
    """``m × n`` for PDF's row-vector matrices: apply ``m`` first, then ``n``."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2,
            e * a2 + f * c2 + e2, e * b2 + f * d2 + f2)


# ------------------------------------------------------------------------------ text


def page_texts(pdf: bytes | Path) -> list[str]:
    """The text of each page in content order (pypdf's plain extraction)."""
    return [page.extract_text() for page in reader(pdf).pages]


@dataclass(frozen=True)
class Fragment:
    """One piece of text as the content stream shows it: where its baseline starts, in
    points from the page's top-left corner."""

    x: float
    y: float
    text: str


def page_fragments(pdf: bytes | Path) -> list[list[Fragment]]:
    """Every shown text fragment of each page with its position (a pypdf text visitor; the
    position is the text matrix's origin through the current transformation matrix)."""
    pages = []
    for page in reader(pdf).pages:
        height = float(page.mediabox.top)
        fragments: list[Fragment] = []

        def visit(text, cm, tm, _font, _size, out=fragments, top=height):
            if not text.strip():
                return
            x, y = _apply((tm[4], tm[5]), cm)
            out.append(Fragment(x, top - y, text))

        page.extract_text(visitor_text=visit)
        pages.append(fragments)
    return pages


def _apply(point: tuple[float, float], m) -> tuple[float, float]:
    x, y = point
    return x * m[0] + y * m[2] + m[4], x * m[1] + y * m[3] + m[5]


def layout_lines(pdf: bytes | Path, *, tolerance: float = 2.0) -> list[list[str]]:
    """Each page's text as visual lines: fragments whose baselines lie within ``tolerance``
    points of each other form one line, left to right, joined by spaces. A table row reads
    as one line, its cells in column order (what ``-layout`` text extraction gives); a cell
    that wraps puts its other lines above or below the row."""
    pages = []
    for fragments in page_fragments(pdf):
        rows: list[tuple[float, list[Fragment]]] = []
        for fragment in sorted(fragments, key=lambda f: (f.y, f.x)):
            if rows and fragment.y - rows[-1][0] <= tolerance:
                rows[-1][1].append(fragment)
            else:
                rows.append((fragment.y, [fragment]))
        pages.append([" ".join(" ".join(f.text.split())
                               for f in sorted(row, key=lambda f: f.x)) for _, row in rows])
    return pages


# ------------------------------------------------------------------------------ images


@dataclass(frozen=True)
class DrawnImage:
    """One raster image as drawn on a page: its size on paper (points) and in pixels."""

    page: int  # 1-based
    width_pt: float
    height_pt: float
    columns: int
    rows: int

    @property
    def ppi_x(self) -> float:
        return self.columns / (self.width_pt / 72)

    @property
    def ppi_y(self) -> float:
        return self.rows / (self.height_pt / 72)


def drawn_images(pdf: bytes | Path) -> list[DrawnImage]:
    """Every image drawn in the PDF, in drawing order: image XObjects (also inside form
    XObjects, through their ``/Matrix``) and inline images. The drawn size comes from the
    ``cm`` matrices in force at ``Do`` (``q``/``Q`` tracked): the unit square an image
    fills maps to ``|(a, b)|`` wide and ``|(c, d)|`` high."""
    from pypdf.generic import ContentStream

    pdf_reader = reader(pdf)
    drawn: list[DrawnImage] = []

    def walk(contents, resources, ctm: Matrix, number: int, depth: int = 0) -> None:
        xobjects = (resources or {}).get("/XObject", {})
        xobjects = xobjects.get_object() if hasattr(xobjects, "get_object") else xobjects
        stack: list[Matrix] = []
        for operands, operator in ContentStream(contents, pdf_reader).operations:
            if operator == b"q":
                stack.append(ctm)
            elif operator == b"Q":
                ctm = stack.pop()
            elif operator == b"cm":
                ctm = multiply(tuple(float(v) for v in operands), ctm)
            elif operator == b"INLINE IMAGE":
                settings = operands["settings"]
                columns = settings.get("/W", settings.get("/Width"))
                rows = settings.get("/H", settings.get("/Height"))
                drawn.append(_drawn(number, ctm, int(columns), int(rows)))
            elif operator == b"Do" and operands[0] in xobjects:
                xobject = xobjects[operands[0]].get_object()
                if xobject.get("/Subtype") == "/Image":
                    drawn.append(_drawn(number, ctm, int(xobject["/Width"]),
                                        int(xobject["/Height"])))
                elif xobject.get("/Subtype") == "/Form" and depth < 8:
                    form = tuple(float(v) for v in xobject.get("/Matrix", IDENTITY))
                    walk(xobject, xobject.get("/Resources", resources),
                         multiply(form, ctm), number, depth + 1)

    for number, page in enumerate(pdf_reader.pages, start=1):
        contents = page.get_contents()
        if contents is not None:
            walk(contents, page.get("/Resources"), IDENTITY, number)
    return drawn


def _drawn(page: int, ctm: Matrix, columns: int, rows: int) -> DrawnImage:
    return DrawnImage(page, math.hypot(ctm[0], ctm[1]), math.hypot(ctm[2], ctm[3]),
                      columns, rows)


# ------------------------------------------------------------------------------ pixels


def render_pages(pdf: bytes | Path, *, dpi: float = 72.0):
    """Every page rendered by PDFium (pypdfium2) as an RGB PIL image, white background."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    try:
        return [document[i].render(scale=dpi / 72.0).to_pil().convert("RGB")
                for i in range(len(document))]
    finally:
        document.close()
