"""Irving, Christiano & Amodei 2018 ("AI safety via debate", section 3.1) on MNIST: the sparse-pixel judge.

The judge is the TensorFlow layers-tutorial CNN (`irving_cnn`) trained on random masks of exactly k nonzero
pixels of MNIST training images: Adam, learning rate 1e-4, batches of 128, 50k batches for k = 4 and 30k for
k = 6 (the paper's numbers). Its random-pixel accuracy on the test split is the "judge accuracy, random
pixels" column of the paper's Table 2 (48.2% for k = 4, 59.4% for k = 6).

  python -m launch.train_judge --config=launch/configs/irving_mnist.py:k6 \
      --data_dir=/work/shared/data/mnist --workdir=/tmp/judge_k6
  python -m launch.train_judge --config=launch/configs/irving_mnist.py:k4 \
      --data_dir=/work/shared/data/mnist --workdir=/tmp/judge_k4
  python -m launch.train_judge --config=launch/configs/irving_mnist.py:smoke \
      --data_dir=/work/shared/data/mnist --workdir=/tmp/judge_smoke
  # any field can be overridden, e.g. --config.steps=1000 --config.judge=small_cnn --config.k=5

Rerunning a command on the same workdir resumes from the latest checkpoint and ends with exactly the params of
an uninterrupted run; `steps` may be raised to train further.

Expected runtime (measured on a 2-core CPU): smoke about 25 s (400 steps of small_cnn at ~3,700 examples/s,
then the 10,000-image test evaluation; test random-pixel accuracy 51.7%). irving_cnn trains at ~780
examples/s (~6 steps/s) there, so k6 (30k steps) takes about 1.5 hours and k4 (50k steps) about 2.5 hours;
on one GPU both should take minutes (not measured yet).

Fields:
  task: 'images' (MNIST-family IDX files in --data_dir).
  k: pixels the judge sees (random nonzero pixels while training and in the random-pixel evaluation).
  judge: the judge model, a name of judges.image_judges.JUDGE_MODELS: irving_cnn, small_cnn or mlp.
  learning_rate: Adam's (constant) learning rate.
  batch_size: global batch; must be divisible by the device count.
  steps: optimizer steps (batches) in all.
  checkpoint_every: steps between Orbax checkpoints (one is also written at the end; the last 3 are kept).
  log_every: steps between metrics lines (loss, batch accuracy, examples/s) in metrics.jsonl.
  eval_batch_size: images per batch of the test evaluation (results do not depend on it).
  seed: everything random (init, batch order, masks, dropout, evaluation masks) derives from it.
  num_classes: the data set's number of classes (10 for MNIST).
"""

import ml_collections

VARIANTS = ('k4', 'k6', 'smoke')


def get_config(variant: str = 'k6') -> ml_collections.ConfigDict:
  if variant not in VARIANTS:
    raise ValueError(f'unknown variant {variant!r} of irving_mnist.py; expected one of {", ".join(VARIANTS)}')
  config = ml_collections.ConfigDict()
  config.task = 'images'
  config.k = 6
  config.judge = 'irving_cnn'
  config.learning_rate = 1e-4
  config.batch_size = 128
  config.steps = 30_000
  config.checkpoint_every = 2_000
  config.log_every = 200
  config.eval_batch_size = 1_000
  config.seed = 0
  config.num_classes = 10

  if variant == 'k4':
    config.k = 4
    config.steps = 50_000
  elif variant == 'smoke':
    config.judge = 'small_cnn'
    config.learning_rate = 1e-3
    config.steps = 400
    config.checkpoint_every = 200
    config.log_every = 50
  return config
