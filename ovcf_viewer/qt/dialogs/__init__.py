"""Dialogs: settings, and the report action (options, file dialog, writing the PDF).
"""
