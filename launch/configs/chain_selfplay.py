"""Self-play (AlphaZero-style) debaters on `chain`: the checkpoint ladder of one policy-value network, in
the liar's and in the honest debater's role, against fixed opponents and against each other
(debate/training/selfplay.py on the split-choice game of debate/games/chain.py).

  python -m launch.run --config=launch/configs/chain_selfplay.py --workdir=/tmp/selfplay
  python -m launch.run --config=launch/configs/chain_selfplay.py:width32 --workdir=/tmp/selfplay_w32
  mkdir /tmp/selfplay_search && cp -r /tmp/selfplay/agents /tmp/selfplay/judges /tmp/selfplay_search/
  python -m launch.run --config=launch/configs/chain_selfplay.py:search --workdir=/tmp/selfplay_search
  python -m launch.run --config=launch/configs/chain_selfplay.py:smoke --workdir=/tmp/selfplay_smoke

The runner first trains the judge (learned:96, as in chain.py), then, before the first cell that names an
az rung, the self-play network to the largest rung (2000 steps x 64 games, 16 Gumbel MuZero simulations a
ply), saving every rung in WORKDIR/agents/selfplay_learned_96_m17_seed0/. Cells (T = 16, 1000 games each):

- baselines with the standard (midpoint) honest debater: debate/random, debate/mcts:64, debate/oracle;
- the az liar over training, against the midpoint honest debater (debate/az:N) and against the searching
  honest debater mcts:64 (debate/az:N/mcts:64);
- the az honest debater over training, against fixed liars: random (debate/random/az:N) and the two-player
  MCTS liar mcts:64 (debate/mcts:64/az:N), with debate/mcts:64/mcts:64 as the searching reference;
- both learned, checkpoint against the same checkpoint (debate/az:N/az:N).

Variant width32: the same ladder with a width-32 network (strength against network size), fewer cells.
Variant search: the default ladder (the same training config and seed, so the same rungs: copy the default
run's agents/ and judges/ into the new workdir to skip retraining), every az debater searching 16
simulations a move (az:N@16).
Smoke: m = 7, T = 4, a tiny network and 40 steps.

Expected runtime (measured, BUILD_NOTES "Self-play debaters"), on a shared 2-core CPU: default 11.5 minutes
wall, 9.3 of CPU (4.5 of them training); width32 7 minutes; search 5.5 minutes wall, 4.5 of CPU (with the
default run's agents/ and judges/ copied in; add 5 minutes of training without them); smoke about 1.5
CPU-minutes.
"""

from launch.configs import chain

RUNGS = (0, 250, 500, 1000, 2000)


def get_config(variant: str = 'default'):
  if variant not in ('default', 'width32', 'search', 'smoke'):
    raise ValueError(f'unknown variant {variant!r} of chain_selfplay.py; expected default, width32, search or smoke')
  config = chain.get_config('default')
  config.update(
    T=(16,),
    judges=('learned:96',),
    num_games=1000,
    batch_size=500,
    num_transcripts=2,
    selfplay_training={
      'batch_size': 64,
      'num_simulations': 16,
      'considered_actions': 8,
      'learning_rate': 1e-3,
      'value_coef': 1.0,
      'max_length': 16,
      'width': 128,
      'depth': 2,
      'log_every': 50,
    },
  )
  rungs = {'default': RUNGS, 'smoke': (0, 40)}.get(variant, (0, 500, 2000))
  if variant == 'width32':
    config.selfplay_training.width = 32
  arms = (
    'debate/az:{n}',
    'debate/az:{n}/mcts:64',
    'debate/random/az:{n}',
    'debate/mcts:64/az:{n}',
    'debate/az:{n}/az:{n}',
  )
  config.protocols = tuple(arm.format(n=n) for n in rungs for arm in arms)
  if variant == 'default':
    config.protocols = ('debate/random', 'debate/mcts:64', 'debate/oracle', *config.protocols, 'debate/mcts:64/mcts:64')
  elif variant == 'search':
    config.protocols = tuple(
      p.replace(f'az:{n}', f'az:{n}@16') for p in config.protocols for n in rungs if f'az:{n}' in p
    )
  elif variant == 'smoke':
    config.update(
      modulus=7,
      T=(4,),
      judges=('learned:16',),
      judge_training={'steps': 300},
      num_games=200,
      batch_size=200,
      selfplay_training={'batch_size': 16, 'num_simulations': 4, 'max_length': 4, 'width': 16, 'log_every': 20},
      protocols=tuple(p.replace('mcts:64', 'mcts:4') for p in config.protocols),
    )
  return config
