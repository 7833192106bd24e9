"""Generated cache of the exact two-feature theory (see theory/derive)."""
