"""The use cases, each written once, that the CLI, the GUI and the PDF report all call: compare
a case's films (:mod:`.compare`), read a command's inputs (:mod:`.inputs`), evaluate procedure
suitability (:mod:`.suitability`), build the CSV table (:mod:`.csv_table`), prepare a report
(:mod:`.report`), export and import DICOM SR (:mod:`.sr`), file the report in the study
(:mod:`.report_dicom`).

May import every lower layer (``report``, ``suitability``, ``render``, ``io``, ``measure``,
``model``, ``util``); never ``cli`` or ``qt``, and never PySide6.
"""
