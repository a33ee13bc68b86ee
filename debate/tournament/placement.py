"""The general-strength axis shared by guards and houdinis: log2 FLOPs spent per debate game.

:func:`general_axis` places the players of a chain tournament, :func:`image_axis` those of an image
tournament; both go through :func:`place_players`. The fits against this axis are in
``debate.tournament.fitting``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np

from debate.tournament.elo import Matchups
from debate.tournament.pooling import Record, agent_of, default_budget, liar_records, name_number

#
# Engels et al. fit each role's domain Elo against a general Elo that both roles share. Here the
# guards (learned checkers) and houdinis (searching liars) are different kinds of player, so the
# shared axis is the compute each spends on a debate game, in FLOPs of checker forward passes:
#
# - a guard's verdict scores the two claimed results of the disputed step: 2 forward passes of its
#   checker, 2 FLOPs (multiply, add) per parameter: 4 P FLOPs per game for P parameters;
# - a houdini makes R = ceil(log2 T) moves, each worth E verdicts of the checker it plays against
#   (search:B: one judged rollout per simulation, E = B; greedy: one per claim, E = m; random:
#   E = 1 by the same convention as default_budget): R E 4 P_guard FLOPs in that game. Its general
#   strength is the mean of log2 of that over the games it played (games-weighted over guards).
#
# Training compute is left out: every judge trains for the same steps and batch, so it would add
# the same log2(6 * steps * batch / 4) doublings to every guard, which moves the NSO offset but not
# the fitted slopes.

CHECKER_DEPTH = 2  # hidden layers of judges.chain_checkers.CheckerMLP (no config changes it)
FLOPS_PER_VERDICT_PER_PARAMETER = 4.0


def checker_parameters(judge: str, modulus: int, depth: int = CHECKER_DEPTH) -> int | None:
  """Parameters of a ``learned:W`` checker, the MLP 4m -> W (-> W) * (depth - 1) -> 1.

  ``None`` for judges without parameters (exact, noisy) or other names. A workdir prefix
  (``run2/learned:64``, see :func:`pooling.merge_sources`) is ignored.
  """
  width = name_number(str(judge).rsplit('/', 1)[-1], 'learned')
  return None if width is None else (4 * modulus + 1) * width + (depth - 1) * (width + 1) * width + width + 1


def debate_rounds(T: int) -> int:
  """Bisection rounds of a debate over T steps, ceil(log2 T): the liar's moves per game."""
  return max(0, (int(T) - 1).bit_length())


def liar_verdicts_per_move(agent: str, modulus: int) -> float | None:
  """Judge verdicts a debate liar spends per move: search:B -> B, greedy -> m, random -> 1.

  ``None`` for the oracle (an exact best response by enumeration, not a budgeted search) and
  unknown names.
  """
  return float(modulus) if agent == 'greedy' else default_budget(agent)


@dataclasses.dataclass(frozen=True)
class GeneralAxis:
  """General strength of the players of one debate tournament: log2 FLOPs spent per game.

  Attributes:
    guards: [G] names; guard_x: [G] log2 of the guard's FLOPs per verdict (a chain checker of P
      parameters: 4 P; an image judge: one forward pass) (nan: not placed).
    guard_parameters: [G] the judge's parameters P (0 where not placed).
    houdinis: [H] names; houdini_x: [H] games-weighted mean of log2(E x the guard's FLOPs per
      verdict) over the houdini's games against placed guards (nan: not a budgeted search, or no
      such games).
    houdini_verdicts: [H] E, judge verdicts per game (nan where not placed).
    T, modulus: the tournament's chain length (pixels k on images) and modulus (None on images).
    task: 'chain' or 'images' (the captions say how each prices a game).
  """

  guards: tuple[str, ...]
  guard_x: np.ndarray
  guard_parameters: np.ndarray
  houdinis: tuple[str, ...]
  houdini_x: np.ndarray
  houdini_verdicts: np.ndarray
  T: int
  modulus: int | None
  task: str = 'chain'

  def x_of(self, role: str, name: str) -> float:
    """A guard's or houdini's general strength (nan if it is not placed); KeyError if absent."""
    names, x = (self.guards, self.guard_x) if role == 'guard' else (self.houdinis, self.houdini_x)
    if name not in names:
      raise KeyError(name)
    return float(x[names.index(name)])


def place_players(
  matchups: Matchups,
  *,
  guard_verdict_flops: Sequence[float],
  guard_parameters: Sequence[float],
  houdini_verdicts: Sequence[float | None],
  modulus: int | None,
  task: str,
) -> GeneralAxis:
  """The general axis from each guard's FLOPs per verdict [G] (0: not placed) and each houdini's
  judge verdicts per game [H] (None: not placed); a houdini's FLOPs per game are priced at the
  guards it played, log2 averaged over its games."""
  verdict_flops = np.asarray(guard_verdict_flops, dtype=float)
  placed = verdict_flops > 0
  guard_x = np.where(placed, np.log2(np.where(placed, verdict_flops, 1.0)), np.nan)
  games = np.asarray(matchups.games, dtype=float)
  houdini_x, verdicts = np.full((2, len(matchups.houdinis)), np.nan)
  for j, per_game in enumerate(houdini_verdicts):
    weight = games[:, j] * placed
    if per_game is not None and per_game > 0 and weight.sum() != 0:
      verdicts[j] = per_game
      houdini_x[j] = float(np.sum(weight * (np.log2(per_game) + np.where(placed, guard_x, 0.0))) / weight.sum())
  return GeneralAxis(
    guards=tuple(matchups.guards),
    guard_x=guard_x,
    guard_parameters=np.where(placed, np.asarray(guard_parameters, dtype=float), 0.0),
    houdinis=tuple(matchups.houdinis),
    houdini_x=houdini_x,
    houdini_verdicts=verdicts,
    T=int(matchups.T),
    modulus=None if modulus is None else int(modulus),
    task=task,
  )


def general_axis(matchups: Matchups, *, modulus: int) -> GeneralAxis:
  """Places the guards and houdinis of a chain debate tournament on the log2-FLOPs axis (see above)."""
  if matchups.T is None:
    raise ValueError('the matchups must come from one chain length T (guard_houdini_matrix)')
  params = np.array([checker_parameters(g, modulus) or 0 for g in matchups.guards], dtype=float)
  rounds = debate_rounds(matchups.T)
  per_move = [liar_verdicts_per_move(agent, modulus) for agent in matchups.houdinis]
  return place_players(
    matchups,
    guard_verdict_flops=FLOPS_PER_VERDICT_PER_PARAMETER * params,
    guard_parameters=params,
    houdini_verdicts=[None if v is None or rounds == 0 else rounds * v for v in per_move],
    modulus=modulus,
    task='chain',
  )


def image_axis(matchups: Matchups, records: Iterable[Record]) -> GeneralAxis:
  """Places the players of an image tournament (records from pooling.tournament_records): a
  guard's verdict is one forward pass of its judge (``judge_forward_flops``), a houdini spends
  ``liar_evaluations_per_game`` of them. ValueError when the records do not carry these fields."""
  flops, params, evaluations = {}, {}, {}
  for record in records:
    if record.get('protocol') != matchups.protocol or int(record['T']) != matchups.T:
      continue
    if record.get('judge_forward_flops') is not None:
      flops[str(record['judge'])] = float(record['judge_forward_flops'])
      params[str(record['judge'])] = float(record.get('judge_parameters') or 0)
    agent = agent_of(record)
    if agent is not None and record.get('liar_evaluations_per_game') is not None:
      evaluations.setdefault(agent, []).append(float(record['liar_evaluations_per_game']))
  if not flops:
    raise ValueError(
      'the image records carry no judge_forward_flops (written by runs since the '
      'general axis came to images); rerun the ladder to place its players'
    )
  return place_players(
    matchups,
    guard_verdict_flops=[flops.get(g, 0.0) for g in matchups.guards],
    guard_parameters=[params.get(g, 0.0) for g in matchups.guards],
    houdini_verdicts=[float(np.mean(evaluations[h])) if h in evaluations else None for h in matchups.houdinis],
    modulus=None,
    task='images',
  )


def tournament_modulus(records: Iterable[Record], *, protocol: str = 'debate', T: int) -> int:
  """The modulus of the records of ``protocol`` at ``T`` with a liar; ValueError unless exactly one."""
  moduli = {int(r['modulus']) for r in liar_records(records, T=T, protocol=protocol) if r.get('modulus') is not None}
  if len(moduli) != 1:
    raise ValueError(
      f'{protocol} records at T={T} must share one modulus to be placed on the '
      f'compute axis; found {sorted(moduli) or "none"}'
    )
  return moduli.pop()
