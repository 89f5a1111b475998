"""Small helpers with no ovcf_viewer imports: atomic file writes (:mod:`.atomic`),
the per-user data and configuration folders (:mod:`.paths`) and handing freed memory back to
the system (:mod:`.memory`).

Imports nothing from ovcf_viewer (the lowest layer).
"""
