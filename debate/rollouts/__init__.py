"""Batched, sharded game play: whole games under `jit(shard_map(vmap(...)))`, and its throughput benchmark."""
