"""Everything that does not need a display: loading, geometry, measurements, rules, storage.

Nothing in this package imports Qt (enforced by tests/core/test_no_qt.py and import-linter).
"""
