"""Protocols: the rules of interaction between agents and a judge, each a pure function of one game.

Every protocol has the signature `play(key, instance, checker, judge_params, **static_options)` and returns
`(outcome, transcript)`, two dicts of arrays for one game: `outcome` holds at least `correct` ([] bool, the
judge's final verdict is the true answer) and `verdict` ([] int32, the answer the judge chose); `transcript`
holds what a researcher reads to see how the game went. Batch with `jax.vmap`; see `debate.rollouts.chain`.
"""
