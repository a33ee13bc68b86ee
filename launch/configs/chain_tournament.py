"""Guards against houdinis on `chain`: a ladder of learned judges against a ladder of liars, in debate and
consultancy, for Elo ratings, accuracy-vs-liar-Elo curves and scaling fits (`launch.report`).

  python -m launch.run --config=launch/configs/chain_tournament.py --workdir=/tmp/tournament
  python -m launch.report --workdirs=/tmp/tournament --out=/tmp/tournament/report

Guards: the honest debater (or the spot-checking judge) with learned step checkers of widths 48, 64 and 96.
Houdinis: liars of increasing strength, named alike in both protocols (record field `agent`): random,
search:4, search:16, search:64, search:256 (MCTS simulations per move in debate; steps tried for the wrong
step in consultancy, capped at T), oracle (the exact best response); and greedy in debate. On `chain` the
honest side has a single optimal strategy (state the truth), so the strength ladders are the judges and the
liars, and "both roles" of a cross-play tournament are guard and houdini.

Expected runtime: about 8 minutes per seed on a 2-core CPU; smoke well under a minute.
"""

from launch.configs import chain


def get_config(variant: str = 'default'):
  config = chain.get_config('smoke' if variant == 'smoke' else 'default')
  config.T = (64,)
  config.judges = ('learned:48', 'learned:64', 'learned:96')
  config.protocols = ('debate/random', 'debate/greedy', 'debate/mcts:4', 'debate/mcts:16', 'debate/mcts:64',
                      'debate/mcts:256', 'debate/oracle', 'consultancy', 'consultancy/search:4',
                      'consultancy/search:16', 'consultancy/search:64', 'consultancy/oracle')
  config.num_transcripts = 2
  if variant == 'smoke':
    config.T = (8,)
    config.judges = ('learned:8', 'learned:16')
    config.protocols = ('debate/random', 'debate/mcts:4', 'debate/oracle', 'consultancy',
                        'consultancy/search:4', 'consultancy/oracle')
    config.num_games = 200
  elif variant != 'default':
    raise ValueError(f'unknown variant {variant!r} of chain_tournament.py; expected default or smoke')
  return config
