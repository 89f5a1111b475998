"""Small helpers with no ovcf_viewer imports: atomic file writes (:mod:`.atomic`) and
the per-user data and configuration folders (:mod:`.paths`).

Imports nothing from ovcf_viewer (the lowest layer).
"""
