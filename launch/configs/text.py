"""The `text` task (debate/tasks/text.py): transformer judges that read quoted sentences of a story.

A judge of the ladder of judges/text_judges.py (tf1x32, tf2x48, tf3x64, tf4x96; tf4x256 for an accelerator) reads the question, both
answers and a set of quotes (sentence tokens, their story positions and a flag: verified quote, unverified
claim, or hidden) and outputs P(answer A is true). It is trained with the project's judge trainer
(judges/trainer.py: data/FSDP mesh, Orbax checkpoints, resume, SIGTERM preemption, metrics.jsonl and
TensorBoard) on random views of a pool of generated stories: k random true sentences (verified) plus
`num_fabricated` fabricated claims (unverified); with min_k < k each example keeps k' uniform in
[min_k, k] of its quotes, so one judge learns every k from blind (0) to the full story (S).

  python -m launch.train_judge --config=launch/configs/text.py:judge_smoke --workdir=/tmp/text_judge_smoke
  # A rung of the ladder (tf1x32, tf2x48, tf3x64, tf4x96) is trained in two phases, a curriculum: first the
  # 2-hop rule alone (where-questions whose holder last went somewhere, read from full stories:
  # CURRICULUM_STEPS steps), then everything (all h, every view), starting from those params (init_from):
  python -m launch.train_judge --config=launch/configs/text.py:judge_tf3x64_h2 --workdir=J/tf3x64_h2
  python -m launch.train_judge --config=launch/configs/text.py:judge_tf3x64 --config.init_from=J/tf3x64_h2 \
      --workdir=J/tf3x64
  # any field can be overridden, e.g. --config.steps=2000 --config.k=4 --config.min_k=4
  #   --config.text_task.num_sentences=16 --config.eval_k='(0, 2, 4)'

No --data_dir: the stories are generated from the seed (instances 0..N-1 of debate.tasks.text.generate for
training, from 2^30 on for the test split). Rerunning a command on the same workdir resumes from the latest
checkpoint and ends with exactly the params of an uninterrupted run; `steps` may be raised to train further.
The workdir gets config.json, metrics.jsonl, TensorBoard events, checkpoints/ and eval.json: the test
accuracy (Wilson 95% interval, count) by hops h, for random views at the trained k and at each eval_k, the
blind view (no quotes: about 50%) and the full-story view (all S sentences, verified).

Fields:
  task: 'text'.
  text_task: the fields of debate.tasks.text.TextTask (story length S = num_sentences, token lengths, the
    hops drawn, entities, objects, places, num_fabricated claims made per instance, ...).
  judge: the judge model, a name of judges.text_judges.JUDGE_MODELS.
  k: verified quotes per training view (0..S). min_k: the least (default k: every view has k quotes).
  num_fabricated: unverified claims per training view (at most text_task.num_fabricated). min_fabricated: the
    least (each view keeps f' uniform in [min_fabricated, num_fabricated] of them), so judges also see the
    claim-free views that most protocols show them.
  full_fraction: the fraction of training views that show all k quotes and no claims (the full story when
    k = S), the rest drawn as above; the ladder's 0.5 keeps the chain rules of the curriculum's first phase,
    which views of a few quotes (where a chain is rarely whole) otherwise wash out.
  show_verified: whether the judge sees the flags (False: every non-empty slot is flagged hidden).
  augment: relabel each training view by a random symmetry of the task (people and places permuted, similar
    objects' colours swapped: debate.tasks.text.relabeling); evaluation views are never relabeled.
  eval_k: the numbers of quotes of the evaluation's random views, besides k.
  init_from: '' or a judge workdir of the same model whose latest params start this run (a warm start: a
    fresh optimizer at step 0; a resumed run does not load it, but it must still exist), e.g. the
    curriculum's first phase.
  learning_rate: Adam's learning rate. lr_decay: 'cosine' (decayed to 5% of it at `steps`) or 'none'.
  batch_size: global batch (over all processes); must be divisible by the device count.
  steps: optimizer steps (batches) in all.
  checkpoint_every: steps between Orbax checkpoints (one is also written at the end; the last 3 are kept).
  log_every: steps between metrics lines (loss, batch accuracy, examples/s) in metrics.jsonl.
  eval_batch_size: stories per batch of the test evaluation (results do not depend on it).
  seed: everything random (stories, init, batch order, views, evaluation views) derives from it.
  num_train_stories, num_test_stories: the sizes of the two story pools.
  model_parallelism: M, the size of the 'model' axis of the ('data', 'model') mesh; it must divide the device
    count (launch/configs/irving_mnist.py describes it).

The debate experiments (debate/experiments/text.py: debaters quote the story to the judges; records, sample
games, tables and the accuracy-vs-strength figure in the workdir; rerunning resumes):

  python -m launch.run --config=launch/configs/text.py:smoke --workdir=/tmp/text_smoke    # < 60 s, self-contained
  python -m launch.run --config=launch/configs/text.py:main --config.judge_dir=J --workdir=/tmp/text_main
  python -m launch.run --config=launch/configs/text.py:verification --workdir=/tmp/text_verification
  python -m launch.run --config=launch/configs/text.py:selfplay --config.judge_dir=J --workdir=/tmp/text_selfplay
  python -m launch.show --workdir=/tmp/text_main --list        # then --game=N: one game, turn by turn
  python -m launch.report --workdirs=/tmp/text_main --out=/tmp/text_main/report

J holds one judge workdir per rung, J/tf1x32 ... J/tf4x96 (the judge_RUNG commands above with
--workdir=J/RUNG); a rung J lacks is trained there first with the variant's judge fields: for main,
verification and selfplay as the ladder's two commands train it (curriculum_steps, then rung_steps[RUNG]
steps), for smoke with judge_smoke's. smoke: the exact judge and a tiny tf1x32 trained in WORKDIR/judges,
4 arms, 16 stories. main: experiments (a)-(c): blind, direct, consultancy and debate with random, greedy and
mcts:8 agents, open consultancy and open debate (greedy), k = 4, exact judge + the four rungs, 200 stories,
and cross-play debates of those three agents (random vs greedy and greedy vs mcts:8, debate/X/liar=Y in both
roles) whose debater Elo in front of each judge is the x axis of (a) (text_elo table and
text_accuracy_vs_elo_JUDGE_k4 figures).
verification: debate and consultancy with claims, flags shown vs hidden, greedy and mcts:16, k = 4 and 6, exact
judge, 256 stories. selfplay: (d), self-play debaters (both roles) after 0..1000 training steps against the
exact judge, beside random and greedy debaters (add a rung with --config.game.judges="('exact', 'tf4x96')").

Expected runtime (2-core CPU): judge_smoke about 16 s. Training throughput (`python -m launch.bench
--task=text`, batch 64, 12 quotes + 2 claims, a busy machine): tf1x32 ~7,600, tf2x48 ~3,400, tf3x64 ~2,000,
tf4x96 ~780, tf4x256 ~180 examples/s; the curriculum's first phase (judge_RUNG_h2, 3,000 steps) takes 0.5,
1, 2 and 4.5 minutes, the ladder's steps (RUNG_STEPS: 10k, 12k, 15k, 15k) about 2, 4, 11 and 25 minutes
(about 30 minutes for the ladder, two trainings at once). main: about 7 minutes with the trained ladder;
verification and selfplay about 2.5 minutes each. BUILD_NOTES.md ("Issue 17") has the ladder's accuracies
and the results.
"""

import ml_collections

RUNGS = ('tf1x32', 'tf2x48', 'tf3x64', 'tf4x96')  # The ladder of the experiments (a CPU trains it).
RUNG_STEPS = {'tf1x32': 10_000, 'tf2x48': 12_000, 'tf3x64': 15_000, 'tf4x96': 15_000, 'tf4x256': 20_000}
CURRICULUM_STEPS = 3_000  # The first phase (judge_RUNG_h2): 2-hop questions alone, on full stories.
VARIANTS = ('judge_smoke', *(f'judge_{rung}{phase}' for rung in (*RUNGS, 'tf4x256') for phase in ('_h2', '')))


def get_config(variant: str = 'judge_tf2x48') -> ml_collections.ConfigDict:
  if variant in EXPERIMENTS:  # The debate experiments (debate/experiments/text.py), at the end of this file.
    return experiment_config(variant)
  if variant not in VARIANTS:
    raise ValueError(f'unknown variant {variant!r} of text.py; expected one of {", ".join(VARIANTS + EXPERIMENTS)}')
  config = ml_collections.ConfigDict(
    {
      'task': 'text',
      'text_task': {
        'num_sentences': 12,
        'sentence_len': 8,
        'question_len': 10,
        'answer_len': 3,
        'hops': (1, 2, 3, 4),
        'num_entities': 4,
        'num_objects': 4,
        'num_places': 4,
        'num_fabricated': 4,
        'prefer_misleading': True,
        'max_tries': 200,
      },
      'judge': 'tf2x48',
      'k': 12,
      'min_k': 0,
      'num_fabricated': 2,
      'min_fabricated': 0,
      'full_fraction': 0.0,
      'show_verified': True,
      'augment': True,
      'eval_k': (0, 1, 2, 4, 8),
      'learning_rate': 1e-3,
      'lr_decay': 'cosine',
      'init_from': '',
      'batch_size': 64,
      'steps': 20_000,
      'checkpoint_every': 1_000,
      'log_every': 100,
      'eval_batch_size': 500,
      'seed': 0,
      'num_train_stories': 20_000,
      'num_test_stories': 2_000,
      'model_parallelism': 1,
    }
  )
  if variant == 'judge_smoke':
    config.update(
      judge='tf1x32',
      k=2,
      min_k=2,
      num_fabricated=1,
      eval_k=(),
      batch_size=32,
      steps=60,
      checkpoint_every=30,
      log_every=20,
      eval_batch_size=128,
      num_train_stories=128,
      num_test_stories=128,
    )
  else:
    config.judge = variant.removeprefix('judge_').removesuffix('_h2')
    config.steps = RUNG_STEPS[config.judge]
    if config.judge == 'tf4x256':
      config.learning_rate = 3e-4
    config.full_fraction = 0.5  # Half the views the full story: the chain rules stay learned (the curriculum).
    if variant.endswith('_h2'):  # The curriculum's first phase: the 2-hop rule alone, read from full stories.
      from judges import text_judges  # Imported here: the other variants' configs need no JAX.

      return text_judges.curriculum_config(config, CURRICULUM_STEPS)
  return config


# ------------------------------------------------------------------------------------------------------------
# The debate experiments (launch.run; debate/experiments/text.py, whose docstring lists the fields).

EXPERIMENTS = ('smoke', 'main', 'verification', 'selfplay')
LADDER = ('exact', *RUNGS)


def experiment_config(variant: str) -> ml_collections.ConfigDict:
  """The text debate experiments. The judge fields above (of judge_smoke for `smoke`, of the ladder's
  default otherwise) train a rung that `judge_dir` lacks."""
  config = get_config('judge_smoke' if variant == 'smoke' else 'judge_tf1x32')
  config.update(experiment='text', judge_dir='', game_batch_size=64, num_transcripts=4)
  if variant != 'smoke':  # A rung judge_dir lacks is trained as the ladder's commands train it.
    config.update(rung_steps=dict(RUNG_STEPS), curriculum_steps=CURRICULUM_STEPS)
  game = {'judges': LADDER, 'k': (4,), 'seeds': (0,), 'num_stories': 200}
  if variant == 'smoke':  # Exact judge + a tiny tf1x32 trained in WORKDIR/judges, 16 stories: < 60 s.
    config.update(k=4, min_k=0, num_fabricated=1, num_test_stories=32, game_batch_size=16, num_transcripts=2)
    game.update(
      judges=('exact', 'tf1x32'),
      num_stories=16,
      protocols=('direct', 'consultancy/greedy', 'debate/greedy/claims', 'debate/greedy/claims/hidden'),
    )
  elif variant == 'main':  # (a)-(c) on the pre-trained ladder (--config.judge_dir).
    agents = ('random', 'greedy', 'mcts:8')
    game['protocols'] = (
      'blind',
      'direct',
      *(f'{protocol}/{agent}' for protocol in ('consultancy', 'debate') for agent in agents),
      # (a)'s debater Elo: each agent against the next one of `agents`, in both roles (a chain, not a round robin:
      # a cross-play cell costs about both agents' self-play cells, so the random-mcts:8 pair is left out).
      *(f'debate/{x}/liar={y}' for a, b in zip(agents, agents[1:]) for x, y in ((a, b), (b, a))),
      'open_consultancy/greedy',
      'open_debate/greedy',
    )
  elif variant == 'verification':  # What verification is worth, with the exact judge.
    game.update(
      judges=('exact',),
      k=(4, 6),
      num_stories=256,
      protocols=tuple(
        f'{protocol}/{agent}/claims{hidden}'
        for protocol in ('debate', 'consultancy')
        for agent in ('greedy', 'mcts:16')
        for hidden in ('', '/hidden')
      ),
    )
  else:  # selfplay: (d) debaters trained to win (self-play steps), judge accuracy under debate.
    config.selfplay_training = {
      'batch_size': 16,
      'num_simulations': 4,
      'considered_actions': 4,
      'width': 32,
      'depth': 1,
      'log_every': 100,
    }
    config.selfplay_stories = 500
    steps = (0, 50, 150, 500, 1000)
    game.update(
      judges=('exact',),
      protocols=('debate/random', *(f'debate/az:{s}' for s in steps), 'debate/az:1000@4', 'debate/greedy'),
    )
  config.game = game
  return config
