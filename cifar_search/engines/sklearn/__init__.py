"""engines/sklearn."""
