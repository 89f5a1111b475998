"""Cases across timepoints."""
