"""Training mode."""
