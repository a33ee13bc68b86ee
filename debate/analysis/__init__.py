"""Statistics of results: confidence intervals, Elo ratings from cross-play, scaling fits."""
