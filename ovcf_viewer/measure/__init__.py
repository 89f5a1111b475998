"""Pure measurement maths."""
