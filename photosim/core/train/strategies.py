"""Names of the triplet-mining strategies, kept apart from mining.py (which needs torch)
so the CLI's argument parser can offer them in an install or bundle without torch."""
from __future__ import annotations

STRATEGIES = ("batch-hard", "semi-hard", "all")
