"""Small helpers with no ovcf_viewer imports."""
