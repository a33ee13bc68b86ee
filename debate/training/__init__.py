"""Trainers of agents and reward models, with the metrics writer and checkpoint helper every trainer uses."""
