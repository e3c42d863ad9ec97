"""Configuration, logging and distributed helpers."""
