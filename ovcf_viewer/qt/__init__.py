"""The Qt shell: the main window (:mod:`.app`; :mod:`.application_window` builds it from the
viewer, :mod:`.main_window`, and its parts, :mod:`.workstation` among them; :mod:`.settings_link`
lets views follow the one settings instance) and its parts grouped by feature: :mod:`.viewer`
(image view, loupe, overlays, study browser), :mod:`.annotate` (landmark items, controller,
measurements panel, undo), :mod:`.case` (case view, comparison panel, trend chart),
:mod:`.suitability`, :mod:`.training`, :mod:`.dialogs`.

The only package that imports PySide6. May import every other package; the use cases it shares
with the CLI and the report are called through :mod:`ovcf_viewer.services`.
"""
