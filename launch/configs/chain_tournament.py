"""Guards against houdinis on `chain`: a ladder of learned judges against a ladder of liars, in debate and
consultancy, over three seeds, for Elo ratings, accuracy-vs-liar-Elo curves, accuracy against judge strength
and the judge-liar compute gap, and the guard/houdini scaling fits with their nested-oversight curve
(`launch.report`).

  python -m launch.run --config=launch/configs/chain_tournament.py --workdir=/tmp/tournament
  python -m launch.report --workdirs=/tmp/tournament --out=/tmp/tournament/report

Guards: the honest debater (or the spot-checking judge) with learned step checkers of widths 32, 48, 64, 96 and
128 (error rates from 68% down to 0.2% exploitable steps, so the judge ladder spans the whole range).
Houdinis: liars of increasing strength, named alike in both protocols (record field `agent`): random,
search:4, search:16, search:64, search:256 (MCTS simulations per move in debate; steps tried for the wrong
step in consultancy), oracle (the exact best response), and greedy, in debate; random, search:16 and oracle
in consultancy (it is at chance against every liar, and at T = 64 search:64 already is the oracle). On `chain` the
honest side has a single optimal strategy (state the truth), so the strength ladders are the judges and the
liars, and "both roles" of a cross-play tournament are guard and houdini.

Seeds: each is a full replicate (instances, play, and the judges trained anew), pooled by `launch.report`.
500 games per cell and seed, 1500 per cell in all: compilation is per (arm, judge architecture), shared by
the seeds (their keys and judges' params are arguments); more games would mostly lengthen the mcts:256 cells.

Expected runtime: about 26 CPU-minutes (9 per seed), so roughly 16 minutes on an idle 2-core CPU; measured: 49
minutes wall on a shared 2-core CPU under a load average of 10-14, with the seeds run as three processes
(`--config.seeds='(0,)'` etc., one workdir each, reported together by `launch.report --workdirs=A,B,C`). Smoke
about 2 CPU-minutes.
"""

from launch.configs import chain


def get_config(variant: str = 'default'):
  config = chain.get_config('smoke' if variant == 'smoke' else 'default')
  config.update(
    seeds=(0, 1, 2),
    num_games=500,
    T=(64,),
    judges=('learned:32', 'learned:48', 'learned:64', 'learned:96', 'learned:128'),
    protocols=(
      'debate/random',
      'debate/greedy',
      'debate/mcts:4',
      'debate/mcts:16',
      'debate/mcts:64',
      'debate/mcts:256',
      'debate/oracle',
      'consultancy',
      'consultancy/search:16',
      'consultancy/oracle',
    ),
    num_transcripts=2,
  )
  if variant == 'smoke':
    config.update(
      seeds=(0, 1),
      T=(8,),
      judges=('learned:8', 'learned:16'),
      protocols=(
        'debate/random',
        'debate/mcts:4',
        'debate/oracle',
        'consultancy',
        'consultancy/search:4',
        'consultancy/oracle',
      ),
      num_games=200,
    )
  elif variant != 'default':
    raise ValueError(f'unknown variant {variant!r} of chain_tournament.py; expected default or smoke')
  return config
