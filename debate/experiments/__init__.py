"""Experiment runners: a grid of cells from a config, recorded cell by cell into a resumable workdir."""
