"""Generated PDF reports built from results of the sweeps and the theory registry."""
