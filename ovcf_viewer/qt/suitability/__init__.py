"""The suitability panel."""
