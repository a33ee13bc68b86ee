"""Recursive reward modelling on the data-free `chain` task, per level, against the unassisted baseline.

  python -m launch.run --config=launch/configs/rrm_chain.py --workdir=/tmp/rrm
  python -m launch.run --config=launch/configs/rrm_chain.py:smoke --workdir=/tmp/rrm_smoke
  python -m launch.report --workdirs=/tmp/rrm --out=/tmp/rrm/report
  python -m launch.run --config=launch/configs/rrm_chain.py --workdir=/tmp/rrm_product \
      "--config.methods=('rrm-product',)"      # the product rule; report it with --workdirs=/tmp/rrm,/tmp/rrm_product
  python -m launch.run --config=launch/configs/rrm_chain.py --workdir=W --config.judge=noisy:0.05 \
      --config.levels=6 --config.seeds='(0, 1, 2, 3, 4)'

Level l: tasks are (start value, segment of 2^l affine steps mod m), answers are claimed end values. Level 0
learns from the user's single-step checks; at level l >= 1 the rrm method learns from evaluations in which the
level l-1 agent states the midpoint and the level l-1 reward model scores both halves (the claim is accepted
when both halves are), while the baseline learns from the user alone, who can check a claimed end only by
recomputing the chain when 2^l <= s and otherwise guesses. At every level a reward model is fit to those
labels and an agent is trained against it; records (one per seed, level and method) carry the reward model's
accuracy, the agent's true accuracy, its proxy reward and the hacking gap. See debate/experiments/rrm.py.

Expected runtime: default about 5 minutes on a 2-core CPU (3 seeds x 6 levels x 3 methods; measured 4 m 35 s
and 4 m 52 s with other jobs sharing the cores; the first seed also compiles each level, 10-15 s a level);
a learned judge adds its training and slower label tables (9-12 minutes measured); smoke under a minute.

Fields:
  experiment: 'rrm' (picks the runner in launch.run). task: 'chain'.
  seeds: each a full replicate: segment pools, judge, initial weights, data and measurement derive from it.
  modulus: m, a prime in [3, 211].
  levels: L; levels 0..L run, with chain lengths 1, 2, 4, ..., 2^L.
  methods: any of 'rrm' (assisted evaluation accepts when both halves are accepted), 'rrm-product' (it
    multiplies the halves' scores instead) and 'baseline' (the unassisted user).
  judge: the user's step checker: 'exact', 'noisy:EPS' or 'learned:WIDTH' (trained at start, cached in the
    workdir; judge_training sets its steps, batch_size, learning_rate).
  s: the baseline user's step-check budget: it can verify a level only when 2^l <= s.
  num_segments: tasks of a level are its start values times a pool of this many segments; a level-l segment
    is two level-(l-1) segments joined.
  rm_width, rm_depth, agent_width, agent_depth: the reward model's and the agent's MLPs (hidden units, layers).
  rounds, rm_steps, agent_steps, batch_size: training per level, `rounds` times (reward model, then agent).
  rm_learning_rate, agent_learning_rate: Adam step sizes. temperature: the agent's policy-improvement
    temperature (lower is greedier against the reward model).
  num_eval: held-out tasks per (seed, level, method) for the measurements.
  model_parallelism: the 'model' axis of each level's training mesh ('data', 'model'): the reward model's and
    the agent's params and Adam moments are split FSDP-style over it, every step's batch over all devices of
    the mesh (the most devices of each process that divide batch_size; debate/sharding.training_mesh); a
    learned judge trains the same way. An integer >= 1 dividing each process's device count. It changes only
    float rounding (amplified over a long training; debate/training/rrm.py); a run may resume with another
    value.
"""

import ml_collections


def get_config(variant: str = 'default') -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict(
    {
      'experiment': 'rrm',
      'task': 'chain',
      'seeds': (0, 1, 2),
      'modulus': 17,
      'levels': 5,
      'methods': ('rrm', 'rrm-product', 'baseline'),
      'judge': 'exact',
      's': 4,
      'num_segments': 64,
      'rm_width': 128,
      'rm_depth': 2,
      'agent_width': 128,
      'agent_depth': 2,
      'rounds': 3,
      'rm_steps': 400,
      'agent_steps': 300,
      'batch_size': 256,
      'rm_learning_rate': 3e-3,
      'agent_learning_rate': 3e-3,
      'temperature': 0.03,
      'num_eval': 2000,
      'model_parallelism': 1,
      'judge_training': {'steps': 6000, 'batch_size': 512, 'learning_rate': 3e-3},
    }
  )
  if variant == 'smoke':
    config.update(
      seeds=(0, 1),
      levels=2,
      s=2,
      num_segments=16,
      rm_width=64,
      agent_width=64,
      rounds=2,
      rm_steps=300,
      agent_steps=200,
      batch_size=128,
      num_eval=200,
      judge_training={'steps': 300},
    )
  elif variant != 'default':
    raise ValueError(f'unknown variant {variant!r} of rrm_chain.py; expected default or smoke')
  return config
