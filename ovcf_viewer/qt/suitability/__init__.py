"""The procedure-suitability panel: the clinician's findings, the measured inputs
and the evaluation (:mod:`ovcf_viewer.suitability`).
"""
