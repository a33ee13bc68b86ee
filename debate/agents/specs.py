"""Agents by name, as configs and records spell them, for every task: `AgentSpec` and `parse_agent`.

Kinds (a task accepts those its protocols can play):
- `random`, `greedy`, `mcts:B`: the generic agents of `debate.agents.policies` (B simulations per move);
  `mcts:B:judge` and `mcts:B:avgN` evaluate leaves with the judge on the position as it stands or with the
  mean of N random completions instead of one (`debate.agents.search.leaf_evaluator`).
- `learned:STEP`: the REINFORCE-trained network (`debate.training.reinforce`) at its checkpoint STEP;
  `az:STEP` / `az:STEP@S`: the self-play network (`debate.training.selfplay`) at STEP, playing its argmax or
  an S-simulation search with it. Their params are data the runner passes to the compiled games, so every
  checkpoint of a ladder shares one compilation (`AgentSpec.structure`).
- chain only: `oracle` (the exact best-response liar), `midpoint` (the standard honest debater), and for
  the lying consultant `search:B` (the best of B wrong-step positions by the judge's score).

`AgentSpec.agent` names an agent's strength alike across protocols (`search:B` for both mcts:B and
search:B), so ratings measured in debate can place consultancy results.
"""

from __future__ import annotations

import dataclasses

from debate.agents import search

KINDS = ('random', 'greedy', 'mcts', 'search', 'oracle', 'midpoint', 'learned', 'az')
BUDGETED_KINDS = ('mcts', 'search')
LEARNED_KINDS = ('learned', 'az')  # Named by a checkpoint step; their params come from a ladder.


@dataclasses.dataclass(frozen=True)
class AgentSpec:
  """kind; budget: simulations (mcts), tries (search) or the checkpoint step (learned, az); simulations: an
  az agent's search simulations per move (0: the network's argmax)."""

  kind: str
  budget: int = 0
  simulations: int = 0
  leaf: str = ''  # mcts only: the leaf evaluation ('' one random completion, 'judge', 'avgN'; search.py).

  def __post_init__(self):
    if self.kind not in KINDS:
      raise ValueError(f'unknown agent {self.kind!r}; expected one of {", ".join(KINDS)}')
    if self.kind in BUDGETED_KINDS and self.budget < 1:
      raise ValueError(f'{self.kind} needs a budget >= 1, e.g. {self.kind}:64, got {self.budget}')
    if self.kind in LEARNED_KINDS and self.budget < 0:
      raise ValueError(f'{self.kind} needs a checkpoint step >= 0, e.g. {self.kind}:1000, got {self.budget}')
    if self.simulations and self.kind != 'az':
      raise ValueError(f'only an az agent searches with its network (az:STEP@SIMULATIONS), not {self.kind}')
    if self.simulations < 0:
      raise ValueError(f'an az agent needs simulations >= 1 after @, e.g. az:1000@16, got {self.simulations}')
    if self.leaf:
      if self.kind != 'mcts':
        raise ValueError(f'only mcts takes a leaf evaluation (mcts:B:judge, mcts:B:avgN), not {self.kind}')
      search.leaf_evaluator(self.leaf)  # Checks the name.

  @property
  def name(self) -> str:
    if self.kind in LEARNED_KINDS:
      return f'{self.kind}:{self.budget}' + (f'@{self.simulations}' if self.simulations else '')
    if self.kind in BUDGETED_KINDS:
      return f'{self.kind}:{self.budget}' + (f':{self.leaf}' if self.leaf else '')
    return self.kind

  @property
  def agent(self) -> str:
    """The agent's strength, named alike in every protocol: random, greedy, search:B, oracle, or the name."""
    return f'search:{self.budget}' if self.kind in BUDGETED_KINDS and not self.leaf else self.name

  @property
  def judge_calls_per_simulation(self) -> int:
    """Judge evaluations an mcts agent spends per simulation (N for the avgN leaf evaluation, else 1)."""
    return search.leaf_evaluator(self.leaf).judge_calls

  @property
  def learned(self) -> bool:
    return self.kind in LEARNED_KINDS

  @property
  def structure(self) -> AgentSpec:
    """The spec without its checkpoint step: what a compiled game depends on."""
    return dataclasses.replace(self, budget=0) if self.learned else self


def parse_agent(text: str, kinds, *, role: str = 'agent', context: str = '') -> AgentSpec:
  """'random' | 'greedy' | 'mcts:B[:LEAF]' | 'search:B' | 'oracle' | 'midpoint' | 'learned:STEP' | 'az:STEP[@S]'
  -> AgentSpec, for a kind among `kinds`; ValueError naming the problem (`context`: the whole spec)."""
  where = f' in {context!r}' if context else ''
  kind, _, budget = text.partition(':')
  if kind not in kinds:
    raise ValueError(f'unknown {role} {kind!r}{where}; expected one of {", ".join(kinds)}')
  if kind in LEARNED_KINDS and not budget:
    raise ValueError(f'a {kind} {role} names its checkpoint step, e.g. {kind}:1000{where}')
  if kind not in BUDGETED_KINDS + LEARNED_KINDS and budget:
    raise ValueError(f'{kind} takes no budget{where}, got {text!r}')
  step, at, simulations = budget.partition('@')
  step, _, leaf = step.partition(':') if kind == 'mcts' else (step, '', '')
  try:
    if at and (kind != 'az' or int(simulations) < 1):
      raise ValueError
    return AgentSpec(kind, int(step) if step else 0, simulations=int(simulations) if at else 0, leaf=leaf)
  except ValueError as e:
    detail = f': {e}' if str(e) else ''
    example = f'{kind}:1000@16' if kind == 'az' else f'{kind}:64'
    raise ValueError(f'bad {role} budget {text!r}{where}{detail}; expected an integer, e.g. {example}') from None
