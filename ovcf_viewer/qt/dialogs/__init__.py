"""Dialogs and report action."""
