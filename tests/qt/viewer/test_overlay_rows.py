"""Corner overlays in a narrow pane (the case window's side-by-side films): the left and right
lines that share a row are shortened, never drawn over each other."""

from PySide6.QtGui import QFont, QFontMetricsF

from ovcf_viewer.qt.viewer.overlays import OverlayCorners, fit_corner_rows

CORNERS = OverlayCorners(
    ("SYNTHETIC OVCF", "ID OVCF-0001", "Sex F  born 1948-03-02"),
    ("Study 2026-01-08", "Lumbar spine lateral, after L1 kyphoplasty", "DX left lateral LSPINE",
     "1400 × 2000 px"),
    ("W 3212  L 2179", "BONE", "Zoom 26 %"),
    ("Calibration: mm at detector", "0.16 × 0.16 mm/px (row × column)"),
)


def rows(corners: OverlayCorners):
    """(left, right) per shared screen row: top rows from the top, bottom rows from the
    bottom."""
    top = list(zip(corners.top_left, corners.top_right, strict=False))
    bottom = list(zip(reversed(corners.bottom_left), reversed(corners.bottom_right),
                      strict=False))
    return top + bottom


def test_lines_sharing_a_row_fit_a_narrow_pane(qapp):
    metrics = QFontMetricsF(QFont())
    wide = max(metrics.horizontalAdvance(left) + metrics.horizontalAdvance(right)
               for left, right in rows(CORNERS))
    width = wide * 0.7  # as in a 340 px pane: the longest pair does not fit
    fitted = fit_corner_rows(CORNERS, width, metrics)
    for left, right in rows(fitted):
        assert metrics.horizontalAdvance(left) + metrics.horizontalAdvance(right) <= width
    assert any("…" in line for line in fitted.top_right)
    # Lines without a partner on their row, and everything in a wide pane, stay whole.
    assert fitted.top_right[3] == CORNERS.top_right[3]
    assert fit_corner_rows(CORNERS, wide + 20, metrics) == CORNERS


def test_overlay_text_stays_readable_on_a_white_ground(qapp):
    """On a white ground (a burned-in side marker, dense bone at 100 %) each line sits on a
    dark band: the light text has at least WCAG AA contrast (4.5:1) against what surrounds
    it (the halo alone leaves it nearly white on white)."""
    import numpy as np
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QImage, QPainter

    from ovcf_viewer.qt.theme import contrast_ratio
    from ovcf_viewer.qt.viewer.overlays import paint_overlays

    image = QImage(600, 400, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    paint_overlays(painter, QRectF(0, 0, 600, 400), CORNERS)
    font = painter.font()
    painter.end()
    metrics = QFontMetricsF(font if font.pointSizeF() >= 9 else QFont())
    width = 600
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(400, image.bytesPerLine() // 4,
                                                                4)[:, :width, :3]
    luminance = pixels.mean(axis=2)
    # The first top-left line: 8 px from the edges, as wide as its text.
    top, left = 8, 8
    box = luminance[top:top + int(metrics.lineSpacing()),
                    left:left + int(metrics.horizontalAdvance(CORNERS.top_left[0]))]
    ground = int(np.median(box))
    text = int(box.max())
    assert text >= 240  # the light text is there
    assert contrast_ratio(QColor(text, text, text), QColor(ground, ground, ground)) >= 4.5
