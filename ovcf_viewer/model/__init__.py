"""Plain data models."""
