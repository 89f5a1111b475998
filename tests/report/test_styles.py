"""The report's table with a key: the key stays under the rows it explains across a page
break (the table's last rows go with it), never alone at the top of a page."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from reportlab.platypus import Paragraph, SimpleDocTemplate

from ovcf_viewer.report.styles import MIN_ROWS_AT_BREAK, _keyed, _register_fonts, _styles, _table

WIDTH = 400.0


@pytest.fixture(autouse=True)
def fonts():
    _register_fonts()  # as the report builder does before any paragraph


def table(rows: int):
    return _table([["Level", "Value"]] + [[f"row {i}", f"{i}.0"] for i in range(1, rows + 1)],
                  [WIDTH / 2, WIDTH / 2])


def key() -> list:
    return [Paragraph("KEY explaining the rows above", _styles()["note"])]


def pages(story: list, frame_height: float) -> list[str]:
    """The text of each page of a document whose frame is ``frame_height`` points high."""
    out = io.BytesIO()
    margin = 20.0
    doc = SimpleDocTemplate(out, pagesize=(WIDTH + 2 * margin, frame_height + 2 * margin),
                            leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin)
    doc.build(story)
    return [page.extract_text() for page in PdfReader(io.BytesIO(out.getvalue())).pages]


def rows_on(text: str) -> list[int]:
    return [int(line.split()[1]) for line in text.splitlines() if line.startswith("row ")]


#: reportlab's frames keep 6 pt of padding on each side.
PADDING = 12.0


def heights(rows: int) -> tuple[float, float]:
    t = table(rows)
    k = key()[0]
    return (t.wrap(WIDTH, 1e6)[1],
            k.wrap(WIDTH, 1e6)[1] + k.getSpaceBefore() + k.getSpaceAfter())


def test_key_that_does_not_fit_takes_the_last_rows_with_it():
    table_height, key_height = heights(10)
    frame = table_height + key_height / 2 + PADDING  # the table fits, its key does not
    plain = pages([table(10), *key()], frame)
    assert plain[1].strip().startswith("KEY")  # what a page break does without _keyed
    texts = pages([_keyed(table(10), key())], frame)
    assert len(texts) == 2
    assert "KEY" not in texts[0] and "KEY" in texts[1]
    moved = rows_on(texts[1])
    assert len(moved) >= MIN_ROWS_AT_BREAK and moved == list(range(moved[0], 11))
    assert texts[1].startswith("Level")  # the header repeats over the rows carried over
    assert rows_on(texts[0]) == list(range(1, moved[0]))


@pytest.mark.parametrize("rows", [3, 10])
def test_table_and_key_that_fit_stay_on_one_page(rows):
    table_height, key_height = heights(rows)
    texts = pages([_keyed(table(rows), key())], table_height + key_height + PADDING + 1)
    assert len(texts) == 1
    text = texts[0]
    assert text.index(f"row {rows}") < text.index("KEY")


def test_long_table_breaks_and_the_key_ends_the_last_part():
    table_height, key_height = heights(40)
    texts = pages([_keyed(table(40), key())], table_height / 3)
    assert len(texts) >= 3
    assert all("KEY" not in t for t in texts[:-1]) and "KEY" in texts[-1]
    assert texts[-1].index("row 40") < texts[-1].index("KEY")
    assert [row for t in texts for row in rows_on(t)] == list(range(1, 41))  # each once
