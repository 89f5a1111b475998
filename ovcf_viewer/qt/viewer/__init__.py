"""The image view and what is drawn over it: :mod:`.image_view` (pan, zoom, window/level),
:mod:`.loupe`, :mod:`.overlays` (corner text), :mod:`.study_browser`.
"""
