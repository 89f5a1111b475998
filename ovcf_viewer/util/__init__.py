"""Small helpers with no ovcf_viewer imports: atomic file writes (:mod:`.atomic`),
the per-user data and configuration folders (:mod:`.paths`), handing freed memory back to
the system (:mod:`.memory`), and the guarded reader every input file goes through
(:mod:`.safe_read`).

Imports nothing from ovcf_viewer (the lowest layer).
"""
