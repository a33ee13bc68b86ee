"""Devices and processes: meshes and layouts of every trainer, and running as one of several JAX processes."""
