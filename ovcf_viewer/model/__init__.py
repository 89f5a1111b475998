"""Plain data models: calibration (row/column spacing and its source), the loaded
radiograph, landmarks and annotation documents, the case, settings, and the error types.

May import :mod:`ovcf_viewer.util` only; no file formats beyond the project's own JSON
documents, no maths beyond what a model needs to stay valid.
"""
