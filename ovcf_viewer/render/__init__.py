"""Rendering shared by the GUI, the CLI and the PDF: the display pipeline (window/level
through one lookup table, :mod:`.display`), the screen-space label layout
(:mod:`.label_layout`), how a number reads (:mod:`.format`) and the one trend figure
(:mod:`.trend`, matplotlib, drawn on a Qt canvas or written as SVG for the PDF), without Qt.

May import :mod:`ovcf_viewer.model` and :mod:`ovcf_viewer.util`; never ``io`` or ``measure``.
"""
