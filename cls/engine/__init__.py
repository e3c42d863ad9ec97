"""Training and evaluation machinery: distributed setup, optimizer/schedule, checkpoints, loops."""
