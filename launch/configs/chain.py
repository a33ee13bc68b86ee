"""The main oversight-scaling experiment on the data-free `chain` task (the default of `launch.main`).

Grid: seed x judge x chain length T x protocol arm, `num_games` games per cell.

  python -m launch.main --workdir=/tmp/chain                      # this config, default variant
  python -m launch.run --config=launch/configs/chain.py --workdir=/tmp/chain
  python -m launch.run --config=launch/configs/chain.py:smoke --workdir=/tmp/smoke
  python -m launch.run --config=launch/configs/chain.py --workdir=W --config.num_games=10000 \
      --config.T='(8, 32, 128)' --config.judges='("exact", "noisy:0.05", "learned:32")'

Expected runtime: default about 2.5 minutes on a 2-core CPU (most of it compiling the MCTS liars and training
the learned judge); smoke well under a minute.

Fields:
  task: 'chain' (the only task of this config).
  seeds: run seeds; each is a full replicate: instances, play and the judges (trained anew) derive from it.
  modulus: m, a prime in [3, 211]: values live in Z_m, and a liar has m - 1 false claims per step.
  T: chain lengths.
  judges: step checkers: 'exact', 'noisy:EPS', 'learned:WIDTH' (an MLP of that width, trained at start).
  protocols: arms: 'direct'; 'consultancy' (one-error liar at a random step), 'consultancy/search:BUDGET'
    (it tries BUDGET steps for the one the judge is likeliest to accept), 'consultancy/oracle' (all steps);
    'open_consultancy[/LIAR]' (the consultant picks the answer the judge is likelier to accept);
    'debate/random', 'debate/greedy', 'debate/mcts:BUDGET', 'debate/oracle' (the exact best-response liar);
    'open_debate/LIAR' (a protagonist of that strength argues the side it expects to win).
  s: the judge's step-check budget in direct and consultancy.
  num_games: games per cell. batch_size: global games per compiled batch (results do not depend on it).
  num_transcripts: transcripts kept per cell (the first games) in transcripts.jsonl.
  judge_training: steps, batch_size, learning_rate of learned judges.
  agent_training, selfplay_training (optional): the learned liar's and the self-play debaters' training
    settings: `max_length` (the training chains' longest T; default 64 and 16) and the fields of
    debate.training.reinforce.ReinforceConfig and debate.training.selfplay.SelfPlayConfig.
  model_parallelism (default 1): the 'model' axis of the training meshes of the learned judges and
    agents; their params and Adam moments are split FSDP-style over it, and each batch (steps, games) over
    every device of the mesh (from every process, the most devices that divide the batch;
    debate.distributed.sharding.training_mesh). Results do not depend on it (up to float rounding).
"""

import ml_collections


def get_config(variant: str = 'default') -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict(
    {
      'task': 'chain',
      'seeds': (0,),
      'modulus': 17,
      'T': (1, 4, 16, 64, 100, 256, 1024),
      'judges': ('exact', 'learned:96'),
      'protocols': ('direct', 'consultancy', 'debate/random', 'debate/mcts:8', 'debate/mcts:64', 'debate/oracle'),
      's': 4,
      'num_games': 2000,
      'batch_size': 1000,
      'num_transcripts': 3,
      'judge_training': {'steps': 6000, 'batch_size': 512, 'learning_rate': 3e-3},
      'model_parallelism': 1,
    }
  )
  if variant == 'smoke':
    config.update(
      T=(1, 3, 8),
      protocols=('direct', 'consultancy', 'debate/random', 'debate/mcts:4'),
      judges=('exact', 'learned:16'),
      num_games=200,
      batch_size=100,
      num_transcripts=2,
      judge_training={'steps': 300},
    )
  elif variant != 'default':
    raise ValueError(f'unknown variant {variant!r} of chain.py; expected default or smoke')
  return config
