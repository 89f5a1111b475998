"""Data shipped with OVCF Viewer (installed as ``ovcf_viewer.resources``): the bundled
suitability rules table. Read it with :mod:`importlib.resources`, never by a path relative to
the source tree."""
