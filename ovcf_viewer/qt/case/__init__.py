"""A case across timepoints: the side-by-side case view, the comparison panel and the
trend chart.
"""
