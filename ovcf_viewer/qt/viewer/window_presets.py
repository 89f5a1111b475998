"""Window/level presets of an :class:`~ovcf_viewer.qt.viewer.image_view.ImageView`: the film's
DICOM windows and VOI LUT tables by explanation, full range and auto (histogram), in one combo
box that follows the view (a window dragged by hand is listed as "Manual (C … / W …)").

The viewer's main window and the training window both use it, so the two show the same
presets the same way.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSignalBlocker, Signal
from PySide6.QtWidgets import QComboBox, QWidget

from ovcf_viewer.model.errors import ImageLoadError
from ovcf_viewer.model.image import RadiographImage, VoiLutTable, VoiWindow
from ovcf_viewer.qt.viewer.image_view import ImageView
from ovcf_viewer.render import display

__all__ = ["PRESET_AUTO", "PRESET_FULL", "PRESET_MANUAL", "WindowPresets"]

PRESET_FULL = "full"
PRESET_AUTO = "auto"
PRESET_MANUAL = "manual"


class WindowPresets(QObject):
    """The presets of ``view``'s film in :attr:`combo` (a child of ``parent``). Choosing one
    sets the view's window; the combo mirrors every window change without feeding back.
    ``failed(message)`` when the pixels a computed preset needs could not be decoded."""

    failed = Signal(str)

    def __init__(self, view: ImageView, parent: QWidget) -> None:
        super().__init__(parent)
        self.view = view
        self.combo = QComboBox(parent)
        self.combo.setObjectName("window-presets")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.setToolTip("Window/level presets (right-drag on the image to adjust)")
        self.combo.activated.connect(self.apply)
        view.imageChanged.connect(self._on_image_changed)
        view.windowChanged.connect(self.mirror)
        self.fill()

    def _image(self) -> RadiographImage | None:
        return self.view.image()

    def presets(self) -> list[tuple[str, object]]:
        """``(label, voi)`` for the current image: its DICOM windows and VOI LUT tables by
        explanation, then full range and auto (histogram)."""
        image = self._image()
        if image is None or image.is_color:
            return []
        items: list[tuple[str, object]] = [(w.label, w) for w in image.windows]
        for index, table in enumerate(image.voi_luts):
            items.append((f"VOI LUT {table.explanation or index + 1}", table))
        items.append(("Full range", PRESET_FULL))
        items.append(("Auto (histogram)", PRESET_AUTO))
        return items

    def _on_image_changed(self, _image: object) -> None:
        self.fill()

    def fill(self) -> None:
        with QSignalBlocker(self.combo):
            self.combo.clear()
            for label, voi in self.presets():
                self.combo.addItem(label, voi)
            self.combo.setEnabled(self.combo.count() > 0)
        self.mirror(self.view.voi_window())

    def apply(self, index: int) -> None:
        """Show preset ``index`` of :meth:`presets`."""
        presets = self.presets()
        if not 0 <= index < len(presets) or self._image() is None:
            return
        voi = presets[index][1]
        if voi == PRESET_FULL:
            self.apply_full_range()
        elif voi == PRESET_AUTO:
            self.apply_auto_window()
        elif isinstance(voi, VoiWindow | VoiLutTable):
            self.view.set_window(voi)

    def apply_full_range(self) -> None:
        image = self._image()
        if image is not None and not image.is_color:
            try:  # waits for full resolution while a progressive open decodes
                self.view.set_window(display.full_range_window(image))
            except ImageLoadError as exc:
                self.failed.emit(str(exc))

    def apply_auto_window(self) -> None:
        image = self._image()
        if image is not None and not image.is_color:
            try:
                self.view.set_window(display.auto_window(image))
            except ImageLoadError as exc:
                self.failed.emit(str(exc))

    def mirror(self, voi: object) -> None:
        """Select the entry matching the displayed VOI (a manual one is listed as
        "Manual (C … / W …)"), without feeding back into the view."""
        with QSignalBlocker(self.combo):
            manual_index = self.combo.findData(PRESET_MANUAL)
            if manual_index >= 0:
                self.combo.removeItem(manual_index)
            target = -1
            image = self._image()
            if image is not None and (not image.pixels_ready() or image.pixels_failed()):
                image = None  # no pixel values to compare the computed presets with yet
            for index in range(self.combo.count()):
                data = self.combo.itemData(index)
                if data is voi or (isinstance(voi, VoiWindow) and data == voi):
                    target = index
                elif image is not None and data == PRESET_FULL and isinstance(voi, VoiWindow):
                    if voi == display.full_range_window(image):
                        target = index
                elif image is not None and data == PRESET_AUTO and isinstance(voi, VoiWindow):
                    if voi == display.auto_window(image):
                        target = index
            if target < 0 and isinstance(voi, VoiWindow):
                self.combo.addItem(
                    f"Manual (C {voi.center:.6g} / W {voi.width:.6g})", PRESET_MANUAL
                )
                target = self.combo.count() - 1
            self.combo.setCurrentIndex(target)
