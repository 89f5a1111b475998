"""Developer tooling (synthetic films)."""
