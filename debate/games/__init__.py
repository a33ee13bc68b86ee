"""Games: one interface that every task implements, and what is written once over it.

Modules:
- `base`: the interface (`Game`): `init(key, instance)`, `step(state, action)`, `legal_actions(state)`,
  `current_player(state)`, `terminal(state)`, `judge_view(state)`, `verdict(judge_params, state)`, and the
  static sizes `num_actions`, `max_moves`, `num_players`. Illegal actions are no-ops.
- `chain`: bisection debate on chain instances, judged by a step checker (`ChainDebate`), plus the existing
  random and oracle liars of `debate.agents.chain` as policies (`RandomLiar`, `OracleLiar`).
- `images`: the sparse-pixel image game, precommit debate, debate without precommit and consultancy, judged
  by an image classifier (`ImageDebate`).
- `example`: a tiny example task (`BitsDebate`): two debaters reveal bits of a hidden vector.
- `play`: `play(game, instance, policies, key, judge_params)`, a whole game under `lax.while_loop` (jit- and
  vmap-able), and generic policies over any game: `Random()`, `Greedy()`, `MCTS(budget)`.

How to add a task:
1. Write one module `debate/games/<task>.py` (see `example.py`, about 70 lines): a frozen state
   (`chex.dataclass(frozen=True)`) that carries the instance, and a frozen dataclass subclassing
   `base.Game` that holds the static options (sizes, the judge model) and implements the sizes, `init`,
   `current_player`, `terminal`, `_legal_actions` (the rules' moves), `_apply` (a legal move),
   `judge_view` and `verdict` (each player's outcome in [-1, 1]). Reuse the task's own pure functions
   (`debate/tasks/`, `judges/`) rather than re-implementing them. Write array shapes in the docstrings.
2. Add the game, an instance and judge params to the `GAMES` cases of `tests/test_games.py`; its
   conformance test `api_test(game, instance, key, judge_params)` then checks it: jit and vmap, static
   shapes and dtypes, determinism in the key, termination within `max_moves` under random play, illegal
   actions as no-ops, and verdicts in range. Run
   `python -m pytest -q tests/test_games.py`.
3. Every generic policy (`Random`, `Greedy`, `MCTS`) and `play` then work on the new task unchanged.
"""
