"""Scalable-oversight games in JAX: games, agents and search, training, rollouts, experiments and reports."""

from debate import cpu_random

cpu_random.install()  # Same random numbers, fewer kernel launches on the CPU (see the module).
