"""Landmark placement."""
