"""Rendering shared by the GUI, the CSV and the PDF: the display pipeline (window/level
through one lookup table, :mod:`.display`) and the screen-space label layout
(:mod:`.label_layout`), as plain numbers and arrays, without Qt.

May import :mod:`ovcf_viewer.model` and :mod:`ovcf_viewer.util`; never ``io`` or ``measure``.
"""
