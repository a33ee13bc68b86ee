"""`debate` (and every protocol whose agents move in turn): a game of the interface played to the end, then
judged. Written once for every task: chain bisection debate, image debate with or without precommit, image
consultancy (a one-player game), the example game.

Against an exact checker the honest chain debater always wins: the disputed step has an agreed, true input
and the honest output is the true result. Against an imperfect checker a liar that searches can steer the
dispute to a step (and claim) the checker gets wrong.
"""

from __future__ import annotations

from debate.games import play as game_play


def play(key, game, instance, policies, judge_params, agent_params=None, *, batch_axis=None, state=None):
  """One game on `instance` with `policies[p]` moving for player p (`agent_params[p]` its params): the
  game's (outcome, transcript) (`game.result`). The game's init and the moves use `key` (move t:
  fold_in(key, t)); `state`: the first state instead of the game's init (`debate.games.play.play`)."""
  moves = game_play.play(game, instance, policies, key, judge_params, agent_params, batch_axis=batch_axis, state=state)
  return game.result(judge_params, moves.state, moves)
