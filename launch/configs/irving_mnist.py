"""Irving, Christiano & Amodei 2018 ("AI safety via debate", section 3.1) on MNIST: the sparse-pixel judge.

The judge is the TensorFlow layers-tutorial CNN (`irving_cnn`) trained on random masks of exactly k nonzero
pixels of MNIST training images: Adam, learning rate 1e-4, batches of 128, 50k batches for k = 4 and 30k for
k = 6 (the paper's numbers). Its random-pixel accuracy on the test split is the "judge accuracy, random
pixels" column of the paper's Table 2 (48.2% for k = 4, 59.4% for k = 6).

  python -m launch.train_judge --config=launch/configs/irving_mnist.py:k6 \
      --data_dir=../shared/data/mnist --workdir=/tmp/judge_k6
  python -m launch.train_judge --config=launch/configs/irving_mnist.py:k4 \
      --data_dir=../shared/data/mnist --workdir=/tmp/judge_k4
  python -m launch.train_judge --config=launch/configs/irving_mnist.py:smoke \
      --data_dir=../shared/data/mnist --workdir=/tmp/judge_smoke
  # any field can be overridden, e.g. --config.steps=1000 --config.judge=small_cnn --config.k=5

Rerunning a command on the same workdir resumes from the latest checkpoint and ends with exactly the params of
an uninterrupted run; `steps` may be raised to train further.

Expected runtime (measured on a 2-core CPU): smoke about 25 s (400 steps of small_cnn at ~3,700 examples/s,
then the 10,000-image test evaluation; test random-pixel accuracy 51.7%). irving_cnn trains at ~780
examples/s (~6 steps/s) there, so k6 (30k steps) takes about 1.5 hours and k4 (50k steps) about 2.5 hours;
on one GPU both should take minutes (not measured yet).

The ladder variants (ladder_k4, ladder_k6, and ladder_k4_cpu, ladder_k6_cpu for this CPU: 30 images, liars up to
mcts:300) play the oversight-scaling tournament on images: the judge of --judge_workdir against liars of rising
strength (random, greedy, mcts at each budget) in consultancy and in precommit debate with a fixed honest
debater (greedy on CPU, mcts:1000 on an accelerator). Run one per judge, then rate them together:

  python -m launch.run --config=launch/configs/irving_mnist.py:ladder_k6_cpu --data_dir=DIR \
      --judge_workdir=J1 --workdir=L1          # and again with J2 -> L2, ...
  python -m launch.report --workdirs=L1,L2 --out=R    # Elo, accuracy vs liar Elo, houdini fit (T = k)

The self-play variant (selfplay_k6_cpu) trains the learned debaters of debate/training/selfplay.py (one
policy-value network for both roles, AlphaZero-style with Gumbel MuZero search) against the judge of
--judge_workdir on the training split, saves rungs 0, 100, 200 and 400 in W/agents/, and plays them on the
first 50 test images (precommit, both first players, every lie) as the liar against the honest mcts:30
debater, as the honest debater against the mcts:30 liar, and against themselves (measured: BUILD_NOTES):

  python -m launch.run --config=launch/configs/irving_mnist.py:selfplay_k6_cpu --data_dir=DIR \
      --judge_workdir=J --workdir=W
  # az:STEP names a rung (the network's argmax), az:STEP@S its S-simulation search, in any debate arm:
  # --config.game.protocols="('debate/greedy/liar=az:1000@16',)"; --config.selfplay_training.batch_size=32
  # (greedy opponents cost A = 312 judge calls a move: about 10x mcts:30 here)

Issue 16's variants play the paper's Table 2 at its budget and look for the cause of the last-mover gap:
table2_k6 and table2_k4 (the first 20 test images, precommit and not, mcts:10000 and mcts:100, both first
players, one seed per lie; blocks of 4 images, so a killed run resumes within a cell and the table can span
sessions) and leaf_k6 (20 images, precommit: every leaf evaluation and c_puct 0.5, 1, 2 at 10, 100 and 1000
judge calls per move, and mcts:30 and mcts:300; `leaf_protocols`). With the shipped judges:

  python -m launch.run --config=launch/configs/irving_mnist.py:table2_k6 --data_dir=../shared/data/mnist \
      --judge_workdir=pretrained:irving_k6 --workdir=DIR/table2_k6

Fields:
  task: 'images' (MNIST-family IDX files in --data_dir).
  k: pixels the judge sees (random nonzero pixels while training and in the random-pixel evaluation).
  judge: the judge model, a name of judges.image_judges.JUDGE_MODELS: irving_cnn, small_cnn or mlp.
  learning_rate: Adam's (constant) learning rate.
  batch_size: global batch (over all processes); must be divisible by the device count.
  steps: optimizer steps (batches) in all.
  checkpoint_every: steps between Orbax checkpoints (one is also written at the end; the last 3 are kept).
  log_every: steps between metrics lines (loss, batch accuracy, examples/s) in metrics.jsonl.
  eval_batch_size: images per batch of the test evaluation (results do not depend on it).
  seed: everything random (init, batch order, masks, dropout, evaluation masks) derives from it.
  num_classes: the data set's number of classes (10 for MNIST).
  model_parallelism: M, the size of the 'model' axis of the device mesh ('data', 'model') = (devices / M, M);
    it must divide the device count. 1 (the default) is plain data parallelism: every device holds all
    parameters. With M > 1 each parameter and its Adam moments are split FSDP-style over M devices along
    their largest axis that M divides (replicated where none does), so a device holds about 1/M of the
    state; the batch is still split over all devices. Results do not depend on M (up to float rounding),
    so a run may resume with another M or device count. Example, 4 GPUs as 2 x 2:
    --config.model_parallelism=2. The self-play debaters' trainer (selfplay variants) uses the same M on
    its own mesh, from each process the most devices that divide its batch, so there M must also divide
    each process's device count (debate.distributed.sharding.training_mesh).
  block_images: test images per saved block of a game cell (default 100). Each finished block is saved in
    W/blocks/ until its cell's record is written, so a run killed inside a cell (a 10k-simulation cell is
    hours of CPU) resumes after the cell's last finished block, with the records of an uninterrupted run.
    Like game_batch_size and game_memory_gb it changes how a run executes, not its results.

Several hosts (a TPU pod, a SLURM job): add --distributed=auto (or --coordinator_address, --num_processes
and --process_id) to the same command on every host (launch/tpu_pod.sh, launch/slurm_gpu.sbatch); each
host loads only its shard of the training split, batches and results are those of a single process, and
the workdir must be storage every host sees. SIGTERM (preemption) saves a checkpoint at the current step
and exits with status 143; rerunning the command resumes.
"""

import ml_collections

VARIANTS = (
  'k4',
  'k6',
  'k4_cpu',
  'k6_cpu',
  'ladder_k4',
  'ladder_k6',
  'ladder_k4_cpu',
  'ladder_k6_cpu',
  'smoke',
  'selfplay_k6_cpu',
  'table2_k4',
  'table2_k6',
  'leaf_k6',
)
SELFPLAY_RUNGS = (0, 100, 200, 400)


def selfplay_protocols(rungs: tuple[int, ...], opponents: tuple[str, ...]) -> tuple[str, ...]:
  """Precommit debate of the self-play rungs: the opponents against themselves (the references), then per
  rung the network as the liar against each honest opponent, as the honest debater against each lying
  opponent, and against itself."""
  arms = [f'debate/{o}' for o in opponents]
  for az in (f'az:{step}' for step in rungs):
    arms += [*(arm for o in opponents for arm in (f'debate/{o}/liar={az}', f'debate/{az}/liar={o}')), f'debate/{az}']
  return tuple(arms)


def ladder_protocols(honest: str, budgets: tuple[int, ...]) -> tuple[str, ...]:
  """Direct judging, plus consultancy and precommit debate against a ladder of liars: random, greedy and
  mcts at each budget; in debate the honest debater is `honest` throughout (the guard is judge + honest)."""
  liars = ('random', 'greedy', *(f'mcts:{b}' for b in budgets))
  return (
    ('direct',)
    + tuple(f'consultancy/{liar}' for liar in liars)
    + tuple(f'debate/{honest}' + ('' if liar == honest else f'/liar={liar}') for liar in liars)
  )


def leaf_protocols(budgets: tuple[int, ...], completions: int = 4, c_pucts=(0.5, 2.0)) -> tuple[str, ...]:
  """Precommit mcts-against-mcts debate at each budget B (judge calls per move) with every leaf evaluation
  at equal judge calls (one completion mcts:B, the judge on the position mcts:B:judge, the mean of N
  completions over B / N simulations) and, with one completion, each PUCT constant of `c_pucts`."""
  arms = []
  for b in budgets:
    arms += [f'debate/mcts:{b}', f'debate/mcts:{b}:judge']
    arms += [f'debate/mcts:{b // completions}:avg{completions}'] if b % completions == 0 else []
    arms += [f'debate/mcts:{b}:c{c:g}' for c in c_pucts]
  return tuple(arms)


def get_config(variant: str = 'k6') -> ml_collections.ConfigDict:
  if variant not in VARIANTS:
    raise ValueError(f'unknown variant {variant!r} of irving_mnist.py; expected one of {", ".join(VARIANTS)}')
  config = ml_collections.ConfigDict(
    {
      'task': 'images',
      'k': 6,
      'judge': 'irving_cnn',
      'learning_rate': 1e-4,
      'batch_size': 128,
      'steps': 30_000,
      'checkpoint_every': 2_000,
      'log_every': 200,
      'eval_batch_size': 1_000,
      'seed': 0,
      'num_classes': 10,
      'model_parallelism': 1,
      # The debate games (python -m launch.run; see the "Games" part of the docstring).
      'experiment': 'irving',
      'game': {
        'num_images': 10_000,
        'protocols': ('direct', 'debate/mcts:10000', 'debate/mcts:10000/no_precommit'),
        'first': ('honest', 'liar'),
        'seeds_per_lie': 3,
        'curve_budgets': (10, 100, 1_000, 10_000),
        'curve_images': 100,
        'seed': 0,
      },
      'game_batch_size': 256,
      'game_memory_gb': 16.0,
      'block_images': 100,
      'num_transcripts': 8,
    }
  )
  if variant in ('k4', 'k4_cpu', 'ladder_k4', 'ladder_k4_cpu', 'table2_k4'):
    config.update(k=4, steps=50_000)
  if variant.startswith('ladder'):  # Issue 4's image tournament: one run per judge, then launch.report.
    config.game.update(curve_budgets=(), seeds_per_lie=1)
    if variant.endswith('_cpu'):
      config.update(
        game={'num_images': 30, 'protocols': ladder_protocols('greedy', (10, 30, 100, 300))}, game_memory_gb=4.0
      )
    else:
      config.game.update(num_images=1_000, protocols=ladder_protocols('mcts:1000', (10, 100, 1_000, 10_000)))
  if variant in ('k4_cpu', 'k6_cpu'):  # What finishes in about an hour on a 2-core CPU.
    config.update(
      game={
        'num_images': 100,
        'protocols': ('direct', 'debate/mcts:100', 'debate/mcts:100/no_precommit'),
        'seeds_per_lie': 1,
        'curve_budgets': (10, 30, 100, 300),
        'curve_images': 20,
      },
      game_memory_gb=4.0,
    )
  elif variant in ('table2_k4', 'table2_k6', 'leaf_k6'):  # Issue 16: the first 20 test images, one seed a lie.
    config.update(game={'num_images': 20, 'seeds_per_lie': 1, 'curve_budgets': (), 'curve_images': 0})
    config.game_memory_gb = 4.0
    if variant == 'leaf_k6':  # Leaf evaluations and PUCT constants at equal judge calls.
      config.game.protocols = leaf_protocols((10, 100, 1_000)) + ('debate/mcts:30', 'debate/mcts:300')
      config.update(game_batch_size=180, num_transcripts=0)
    else:  # Table 2 at the paper's 10k simulations, beside 100.
      config.game.protocols = (
        'direct',
        'debate/mcts:10000',
        'debate/mcts:10000/no_precommit',
        'debate/mcts:100',
        'debate/mcts:100/no_precommit',
      )
      config.update(game_batch_size=36, block_images=4)
  elif variant == 'selfplay_k6_cpu':  # Issue 5's learned image debaters, on a 2-core CPU.
    config.update(
      game={
        'num_images': 50,
        'protocols': selfplay_protocols(SELFPLAY_RUNGS, ('mcts:30',)),
        'seeds_per_lie': 1,
        'curve_budgets': (),
      },
      game_memory_gb=4.0,
      # debate.training.selfplay.SelfPlayConfig fields (the game's k and classes come from the config above).
      selfplay_training={
        'batch_size': 16,
        'num_simulations': 8,
        'considered_actions': 8,
        'learning_rate': 3e-3,
        'value_coef': 1.0,
        'width': 8,
        'depth': 1,
        'log_every': 50,
      },
    )
  elif variant == 'smoke':
    config.update(
      judge='small_cnn',
      learning_rate=1e-3,
      steps=400,
      checkpoint_every=200,
      log_every=50,
      game={
        'num_images': 6,
        'protocols': (
          'direct',
          'consultancy/greedy',
          'debate/greedy',
          'debate/mcts:16',
          'debate/mcts:16/no_precommit',
          'debate/mcts:16/liar=random',
        ),
        'seeds_per_lie': 1,
        'curve_budgets': (4, 16),
        'curve_images': 3,
      },
      game_batch_size=64,
      game_memory_gb=1.0,
      num_transcripts=4,
    )
  return config
