"""Rendering shared by GUI, CSV and PDF."""
