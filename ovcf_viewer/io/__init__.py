"""Reading and writing files: DICOM (:mod:`.dicom`; large JPEG 2000 films progressively,
:mod:`.progressive`), study scanning, a case's image headers
and calibrations (:mod:`.case_files`), the annotation store, recent files, de-identification,
the teaching library, the training history, measurement reports as DICOM SR (:mod:`.sr`) and
the report as an Encapsulated PDF (:mod:`.encapsulated`).

May import :mod:`ovcf_viewer.model` and :mod:`ovcf_viewer.util`; never ``measure`` or
``render`` (its siblings) except for type annotations.
"""
