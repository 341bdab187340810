"""engines/optuna."""
