"""Real-data bridge: torch encoders on a bundled dataset, handing features to ``sims``."""
