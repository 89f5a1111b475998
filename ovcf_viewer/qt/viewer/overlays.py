"""Corner overlays of the image view: who, when, which view, the display state and the
calibration, drawn in *viewport* coordinates so they stay put while the image pans, zooms,
rotates or flips.

:func:`overlay_corners` composes the text (plain Python, testable without painting);
:func:`paint_overlays` draws it with a dark halo on a translucent dark band so it stays
readable on bright bone, on a burned-in side marker and on the black background alike. Every
length shown carries its calibration source (docs/clinical-reference.md §1): the bottom-right
corner names the source with its unit tag (``"mm at detector"``, ``"mm (pixel spacing)"``,
``"px"``) and the spacing in mm per pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QStaticText, QTransform

from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.image import RadiographImage, VoiLutTable, VoiWindow

__all__ = ["OverlayCorners", "fit_corner_rows", "overlay_corners", "paint_overlays"]

# Orientation words for View Position (0018,5101), PS3.3 C.8.11.5.1.2.
_VIEW_POSITIONS = {
    "LL": "left lateral",
    "RL": "right lateral",
    "LAT": "lateral",
    "AP": "AP",
    "PA": "PA",
    "LLD": "left lateral decubitus",
    "RLD": "right lateral decubitus",
}


@dataclass(frozen=True)
class OverlayCorners:
    """Lines of text for each viewport corner, top to bottom."""

    top_left: tuple[str, ...] = ()
    top_right: tuple[str, ...] = ()
    bottom_left: tuple[str, ...] = ()
    bottom_right: tuple[str, ...] = ()

    def text(self) -> str:
        """All corners as one string (for tests, copying and accessibility)."""
        return "\n".join(self.top_left + self.top_right + self.bottom_left + self.bottom_right)


def _format_number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.4g}"


def overlay_corners(
    image: RadiographImage | None,
    window: VoiWindow | VoiLutTable | None,
    inverted: bool,
    zoom: float,
    calibration: Calibration | None,
) -> OverlayCorners:
    """The overlay text for an image shown with ``window`` at ``zoom`` (screen pixels per
    image pixel). Window centre and width are in modality units (after Rescale, PS3.3 C.11);
    a VOI LUT Sequence table is named by its explanation; ``None`` is the full range."""
    if image is None:
        return OverlayCorners()
    patient = image.patient
    name = patient.name.replace("^", " ").strip()
    if not name:
        name = image.path.name if not image.is_dicom and image.path else "(no patient name)"
    top_left = [name]
    if patient.patient_id:
        top_left.append(f"ID {patient.patient_id}")
    sex = f"Sex {patient.sex}" if patient.sex else ""
    details = "  ".join(p for p in (sex, _birth(patient.birth_date)) if p)
    if details:
        top_left.append(details)

    top_right = []
    if patient.study_date is not None:
        top_right.append(f"Study {patient.study_date.isoformat()}")
    if patient.study_description:
        top_right.append(patient.study_description)
    view = _VIEW_POSITIONS.get(patient.view_position.upper(), patient.view_position)
    view_line = " ".join(p for p in (image.modality, view, patient.body_part) if p)
    if view_line:
        top_right.append(view_line)
    if image.number_of_frames > 1:
        top_right.append(f"Frame {image.frame_index + 1}/{image.number_of_frames}")
    top_right.append(f"{image.columns} × {image.rows} px")

    bottom_left = []
    if isinstance(window, VoiWindow) and not image.is_color:
        bottom_left.append(f"W {_format_number(window.width)}  L {_format_number(window.center)}")
        if window.explanation:
            bottom_left.append(window.explanation)
    elif isinstance(window, VoiLutTable) and not image.is_color:
        bottom_left.append(f"VOI LUT {window.explanation or '(table)'}")
    elif window is None and not image.is_color:
        bottom_left.append("Full range")
    if inverted:
        bottom_left.append("Inverted")
    bottom_left.append(f"Zoom {zoom * 100:.0f} %")

    bottom_right = []
    if calibration is not None:
        if calibration.is_calibrated:
            bottom_right.append(f"Calibration: {calibration.unit_tag}")
            bottom_right.append(
                f"{calibration.row_mm:.4g} × {calibration.col_mm:.4g} mm/px (row × column)"
            )
        else:
            bottom_right.append("Calibration: none (px)")
    return OverlayCorners(
        tuple(top_left), tuple(top_right), tuple(bottom_left), tuple(bottom_right)
    )


def _birth(value: object) -> str:
    return f"born {value.isoformat()}" if value is not None else ""  # type: ignore[attr-defined]


_STATIC_TEXTS: dict[tuple[str, str], QStaticText] = {}
_STATIC_TEXT_LIMIT = 256


def _static_text(line: str, font: QFont) -> QStaticText:
    """A laid-out line, cached: window/level repaints redraw the same words many times."""
    key = (line, font.key())
    text = _STATIC_TEXTS.get(key)
    if text is None:
        if len(_STATIC_TEXTS) >= _STATIC_TEXT_LIMIT:
            _STATIC_TEXTS.clear()
        text = QStaticText(line)
        text.setTextFormat(Qt.TextFormat.PlainText)
        text.setPerformanceHint(QStaticText.PerformanceHint.AggressiveCaching)
        text.prepare(QTransform(), font)
        _STATIC_TEXTS[key] = text
    return text


_GAP = 12.0  # between a left and a right corner's lines on one row


def fit_corner_rows(corners: OverlayCorners, width: float,
                    metrics: QFontMetricsF) -> OverlayCorners:
    """``corners`` with the lines that share a row shortened ("…") so that the left and the
    right one never run into each other in a viewport ``width`` px wide (inner width, margins
    taken off): the right-hand line gives way first, down to half the row."""

    def pair(left: tuple[str, ...], right: tuple[str, ...],
             bottom: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
        lefts, rights = list(left), list(right)
        for row in range(min(len(lefts), len(rights))):
            li = len(lefts) - 1 - row if bottom else row
            ri = len(rights) - 1 - row if bottom else row
            room = width - _GAP
            wl = metrics.horizontalAdvance(lefts[li])
            if wl + metrics.horizontalAdvance(rights[ri]) <= room:
                continue
            rights[ri] = metrics.elidedText(rights[ri], Qt.TextElideMode.ElideRight,
                                            max(room - wl, room / 2))
            lefts[li] = metrics.elidedText(lefts[li], Qt.TextElideMode.ElideRight,
                                           room - metrics.horizontalAdvance(rights[ri]))
        return tuple(lefts), tuple(rights)

    top_left, top_right = pair(corners.top_left, corners.top_right, bottom=False)
    bottom_left, bottom_right = pair(corners.bottom_left, corners.bottom_right, bottom=True)
    return OverlayCorners(top_left, top_right, bottom_left, bottom_right)


def paint_overlays(painter: QPainter, viewport: QRectF, corners: OverlayCorners) -> None:
    """Draw ``corners`` into ``viewport`` (device coordinates: call with an identity
    world transform). Light text with a dark one-pixel halo on a translucent dark band (the
    halo alone is lost on a white side marker or dense bone), 8 px from the edges; lines
    sharing a row are shortened rather than drawn over each other (:func:`fit_corner_rows`).

    Lines are cached :class:`QStaticText` (laid out once): the overlay is repainted on
    every window/level step and must cost a fraction of a millisecond.
    """
    painter.save()
    font = QFont(painter.font())
    if font.pointSizeF() < 9.0:
        font.setPointSizeF(9.0)
    painter.setFont(font)
    metrics = QFontMetricsF(font)
    line_height = metrics.lineSpacing()
    margin = 8.0
    corners = fit_corner_rows(corners, viewport.width() - 2 * margin, metrics)
    halo = QColor(0, 0, 0, 230)
    band = QColor(0, 0, 0, 170)  # on white: grey 85 under the text, contrast ≈ 6.5:1
    fill = QColor(255, 255, 220)
    offsets = ((-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 1.0))

    def draw(lines: tuple[str, ...], right: bool, bottom: bool) -> None:
        count = len(lines)
        for index, line in enumerate(lines):
            text = _static_text(line, font)
            width = text.size().width()
            x = viewport.right() - margin - width if right else viewport.left() + margin
            if bottom:
                y = viewport.bottom() - margin - (count - index) * line_height
            else:
                y = viewport.top() + margin + index * line_height
            painter.fillRect(QRectF(x - 3.0, y, width + 6.0, line_height), band)
            painter.setPen(halo)
            for dx, dy in offsets:
                painter.drawStaticText(QPointF(x + dx, y + dy), text)
            painter.setPen(fill)
            painter.drawStaticText(QPointF(x, y), text)

    draw(corners.top_left, right=False, bottom=False)
    draw(corners.top_right, right=True, bottom=False)
    draw(corners.bottom_left, right=False, bottom=True)
    draw(corners.bottom_right, right=True, bottom=True)
    painter.restore()
