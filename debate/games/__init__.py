"""Games: one interface that every task implements, and the loop that plays any of them.

Modules:
- `base`: the interface (`Game`): `init(key, instance)`, `step(state, action)`, `legal_actions(state)`,
  `current_player(state)`, `terminal(state)`, `judge_view(state)`, `verdict(judge_params, state)`,
  `result(judge_params, state, moves)`, the static sizes `num_actions`, `max_moves`, `num_players`, and
  optional hooks with defaults (random player, rollouts, position values, transcript fields) or without
  (observations and networks for learned agents). Illegal actions are no-ops.
- `play`: `play`, a whole game under `lax.while_loop` (jit- and vmap-able), any policies
  per player (debate/agents/policies.py).
- `conformance`: `api_test(game, instance, key, judge_params)`, the test every game passes.
- `chain`: bisection debate on chain instances, judged by a step checker (`ChainDebate`; the standard game
  and the split-choice game), the chain-only agents (`OracleLiar`, `Midpoint`) and the training games of
  learned chain agents. `bisection`: its rules.
- `images`: the sparse-pixel game of Irving et al. 2018, precommit debate, debate without precommit and
  consultancy, judged by an image classifier (`ImageDebate`), and the self-play training games. `pixels`:
  its rules.
- `text`: text debate on the `text` reading task, quotes and unverified claims to a judge (`TextDebate`, `ExactJudge`).
- `example`: a tiny example task (`BitsDebate`, `BitsPlayer`): what a new task costs.

Written once over the interface elsewhere: the agents and search (debate/agents/), the self-play and
REINFORCE trainers (debate/training/), the sharded runner (debate/rollouts/runner.py), the grid of cells
with records (debate/experiments/grid.py). README.md, "Adding a task", lists the steps.
"""
