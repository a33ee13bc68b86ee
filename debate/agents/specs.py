"""Agents by name, as configs and records spell them, for every task: `AgentSpec` and `parse_agent`.

Kinds (a task accepts those its protocols can play):
- `random`, `greedy`, `mcts:B`: the generic agents of `debate.agents.policies` (B simulations per move);
  `mcts:B:judge` and `mcts:B:avgN` evaluate leaves with the judge on the position as it stands or with the
  mean of N random completions instead of one (`debate.agents.search.leaf_evaluator`); a last option `:cX`
  sets the PUCT constant c_puct = X (default 1), e.g. `mcts:1000:c2` or `mcts:1000:judge:c0.5`.
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
  c_puct: float = 1.0  # mcts only: the PUCT exploration constant.

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
    if self.c_puct != 1.0 and self.kind != 'mcts':
      raise ValueError(f'only mcts takes a PUCT constant (mcts:B:cX), not {self.kind}')
    if not self.c_puct > 0:
      raise ValueError(f'the PUCT constant must be > 0, got {self.c_puct}')

  @property
  def name(self) -> str:
    if self.kind in LEARNED_KINDS:
      return f'{self.kind}:{self.budget}' + (f'@{self.simulations}' if self.simulations else '')
    if self.kind in BUDGETED_KINDS:
      options = ([self.leaf] if self.leaf else []) + ([f'c{self.c_puct:g}'] if self.c_puct != 1.0 else [])
      return ':'.join([self.kind, str(self.budget), *options])
    return self.kind

  @property
  def agent(self) -> str:
    """The agent's strength, named alike in every protocol: random, greedy, search:B, oracle, or the name."""
    plain = self.kind in BUDGETED_KINDS and not self.leaf and self.c_puct == 1.0
    return f'search:{self.budget}' if plain else self.name

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
  """'random' | 'greedy' | 'mcts:B[:LEAF][:cX]' | 'search:B' | 'oracle' | 'midpoint' | 'learned:STEP' | 'az:STEP[@S]'
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
  step, _, options = step.partition(':') if kind == 'mcts' else (step, '', '')
  leaf, _, c_puct = options.rpartition(':') if options.split(':')[-1].startswith('c') else (options, '', '')
  try:
    if at and (kind != 'az' or int(simulations) < 1):
      raise ValueError
    c_puct = float(c_puct[1:]) if c_puct else 1.0
    return AgentSpec(
      kind, int(step) if step else 0, simulations=int(simulations) if at else 0, leaf=leaf, c_puct=c_puct
    )
  except ValueError as e:
    detail = f': {e}' if str(e) else ''
    example = {'az': 'az:1000@16', 'mcts': 'mcts:64, mcts:64:judge, mcts:64:avg4 or mcts:64:c2'}.get(kind, f'{kind}:64')
    raise ValueError(f'bad {role} budget {text!r}{where}{detail}; expected e.g. {example}') from None
