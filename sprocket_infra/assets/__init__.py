"""Files shipped into containers as Docker configs (scripts, static configuration)."""
