"""Training and testing drivers."""
