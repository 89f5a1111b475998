"""Training mode: placing landmarks on a teaching case and the score against the
reference.
"""
