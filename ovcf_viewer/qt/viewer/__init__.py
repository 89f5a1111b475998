"""Image viewing."""
