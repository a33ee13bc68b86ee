"""The text task's transformer judges (judges/text_judges.py) and their training by the shared judge trainer
(judges/trainer.py), on stories of debate/tasks/text.py's generator."""

import dataclasses
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import xla_env

from debate.experiments.runfiles import ConfigError, WorkdirError
from debate.tasks import text
from judges import text_judges, train, trainer
from launch.configs import text as text_configs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMING = ('examples_per_s', 'elapsed_s')
QUIET = lambda _: None


def tiny_config(**overrides):
  config = text_configs.get_config('judge_smoke')
  config.update(
    dict(num_train_stories=64, num_test_stories=32, batch_size=16, steps=12, checkpoint_every=4, log_every=2)
  )
  config.update(overrides)
  return config


@pytest.fixture(scope='module')
def pools():
  config = tiny_config()
  return text_judges.make_data(config, 'train'), text_judges.make_data(config, 'test')


def _instance(data, i):
  return jax.tree.map(lambda a: jnp.asarray(a[i]), data.examples)


def _metrics(workdir) -> list[dict]:
  with open(os.path.join(workdir, trainer.METRICS)) as f:
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING} for line in f]


def _assert_trees_equal(a, b):
  assert jax.tree.structure(a) == jax.tree.structure(b)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_ladder_shapes_param_counts_and_the_games_interface(pools):
  task = text_judges.task_from_config(tiny_config()).task
  instances = pools[0].examples
  views = jax.vmap(lambda i, inst: text.random_view(jax.random.key(i), inst, 3, 2))(
    jnp.arange(4), jax.tree.map(lambda a: a[:4], instances)
  )
  counts = {}
  for name in text_judges.JUDGE_MODELS:  # Abstract evaluation: shapes and parameter counts, no compilation.
    judge = text_judges.judge_for(task, name)
    params = jax.eval_shape(judge.module().init, jax.random.key(0), views)
    counts[name] = text_judges.count_params(params)
    logits = jax.eval_shape(judge.logits, params, views)
    assert logits.shape == (4, 2) and logits.dtype == jnp.float32
  assert list(counts.values()) == sorted(counts.values()), counts
  judge = text_judges.judge_for(task, 'tf1x32')
  params = jax.jit(judge.module().init)(jax.random.key(0), views)
  logits, ones = jax.jit(lambda p, v: (judge.logits(p, v), jax.vmap(judge, (None, 0))(p, v)))(params, views)
  assert logits.shape == (4, 2) and ones.shape == (4,) and ones.dtype == jnp.float32
  np.testing.assert_allclose(ones, logits[:, 0] - logits[:, 1], rtol=1e-5, atol=1e-5)
  one = jax.jit(judge)(params, jax.tree.map(lambda a: a[1], views))  # One unbatched view, as a game calls it.
  assert one.shape == () and one.dtype == jnp.float32
  np.testing.assert_allclose(one, ones[1], rtol=1e-5, atol=1e-6)
  # Hashable and static: a game can hold it in a jitted function's closure or static arguments.
  judge = text_judges.judge_for(task, 'tf1x32')
  assert hash(judge) == hash(text_judges.judge_for(task, 'tf1x32')) and dataclasses.is_dataclass(judge)
  with pytest.raises(ValueError, match='unknown text judge'):
    text_judges.judge_for(task, 'tf9x9')


def test_an_empty_slots_content_does_not_change_the_output(pools):
  task = text_judges.task_from_config(tiny_config()).task
  judge = text_judges.judge_for(task, 'tf2x48')
  instance = _instance(pools[0], 0)
  view = text.random_view(jax.random.key(1), instance, 3, 1)
  params = jax.jit(judge.module().init)(jax.random.key(0), jax.tree.map(lambda a: a[None], view))
  judge = jax.jit(judge)
  # Two more slots, empty (flag 0), holding junk tokens and positions.
  junk = jax.random.randint(jax.random.key(2), (2, task.sentence_len), 1, len(text.vocabulary()))
  padded = view.replace(
    quotes=jnp.concatenate([view.quotes, junk]),
    positions=jnp.concatenate([view.positions, jnp.array([5, -1])]),
    flags=jnp.concatenate([view.flags, jnp.zeros(2, jnp.int32)]),
  )
  np.testing.assert_allclose(judge(params, padded), judge(params, view), rtol=1e-5, atol=1e-6)
  zeros = padded.replace(quotes=padded.quotes.at[-2:].set(0))
  np.testing.assert_allclose(judge(params, zeros), judge(params, view), rtol=1e-5, atol=1e-6)
  # The blind view's empty slots: any number of them reads the same.
  np.testing.assert_allclose(
    judge(params, text.blind_view(instance)), judge(params, text.blind_view(instance, 2)), rtol=1e-5, atol=1e-6
  )
  # A filled slot does change it.
  assert not np.isclose(judge(params, view), judge(params, text.blind_view(instance)))


@dataclasses.dataclass(frozen=True)
class DecidingSentenceTask(text_judges.TextJudgeTask):
  """The 1-hop toy: each view quotes (verified) just the sentence that decides the answer (the true chain)."""

  def views(self, key, indices, examples):
    def view(instance):
      position = jnp.argmax(instance.support[instance.label])
      return text.TextView(
        question=instance.question,
        answers=instance.answers,
        quotes=instance.story[position][None],
        positions=position[None].astype(jnp.int32),
        flags=jnp.full((1,), text.VERIFIED, jnp.int32),
      )

    return jax.vmap(view)(examples)


def test_a_tiny_judge_learns_a_one_hop_toy(tmp_path):
  config = tiny_config(
    judge='tf1x32',
    text_task={**tiny_config().text_task.to_dict(), 'hops': (1,), 'num_fabricated': 0},
    num_fabricated=0,
    num_train_stories=256,
    num_test_stories=100,
    batch_size=64,
    steps=100,
    learning_rate=1e-2,  # The sentence-level judge sits on a plateau for 200+ steps at 3e-3 here.
    checkpoint_every=100,
    log_every=100,
  )
  task = DecidingSentenceTask(text_judges.text_task(config), 'tf1x32', 1, 0)
  data_train, data_test = (text_judges.make_data(config, split) for split in ('train', 'test'))
  state, _ = trainer.train(task, config, str(tmp_path), data_train, result_fields=text_judges.RESULT_FIELDS, log=QUIET)
  (correct,), (games,) = trainer.count_correct(
    task.make_model(), state.params, task.views, data_test, key=jax.random.key(0), batch_size=100
  )
  assert games == 100 and correct / games >= 0.9, correct / games


def test_resume_equals_uninterrupted_and_the_evaluation(tmp_path, pools):
  class Killed(Exception):
    pass

  def kill_at(step):
    def log(message):
      if message.startswith(f'step {step}/'):
        raise Killed(message)

    return log

  one = dict(devices=jax.devices()[:1])  # One device here; the next test compares meshes.
  straight, metrics = text_judges.train_judge(tiny_config(), str(tmp_path / 'straight'), *pools, log=QUIET, **one)
  workdir = str(tmp_path / 'resumed')
  with pytest.raises(Killed):  # Killed after logging step 10; its last checkpoint is step 8.
    text_judges.train_judge(tiny_config(), workdir, pools[0], log=kill_at(10), **one)
  messages = []
  resumed, again = text_judges.train_judge(tiny_config(), workdir, *pools, log=messages.append, **one)
  assert any('resumed from the checkpoint at step 8' in m for m in messages), messages
  _assert_trees_equal(straight.params, resumed.params)
  _assert_trees_equal(straight.opt_state, resumed.opt_state)
  assert _metrics(workdir) == _metrics(tmp_path / 'straight')
  assert again['test'] == metrics['test']
  params, step = train.restore_params(workdir)  # The text task, read from config.json.
  assert step == 12
  _assert_trees_equal(params, straight.params)
  # The evaluation: every view kind, by hops, with counts that add up; independent of the batch size.
  test = metrics['test']
  assert set(test['views']) == {'k=2', 'blind', 'full'} and test['accuracy'] == test['views']['k=2']['all']['accuracy']
  for view in test['views'].values():
    assert view['all']['games'] == 32 == sum(r['games'] for r in view['by_hops'].values())
    assert view['all']['correct'] == sum(r['correct'] for r in view['by_hops'].values())
  task = text_judges.task_from_config(tiny_config())
  other = text_judges.evaluate(task.make_model(), params, pools[1], task, seed=0, batch_size=7)
  assert other == test
  with pytest.raises(WorkdirError, match=r"\['k', 'min_k'\]"):
    text_judges.train_judge(tiny_config(k=3, min_k=3), workdir, pools[0], log=QUIET)


def test_a_warm_start_begins_from_another_runs_params(tmp_path, pools):
  one = dict(devices=jax.devices()[:1])
  source = str(tmp_path / 'source')
  first, _ = text_judges.train_judge(tiny_config(steps=4), source, pools[0], log=QUIET, **one)
  task = text_judges.task_from_config(tiny_config())
  mesh = trainer.make_mesh(jax.devices()[:1])
  _assert_trees_equal(trainer.warm_start_params(source, task, first.params, mesh), first.params)
  messages = []
  config = tiny_config(steps=1, log_every=1, checkpoint_every=1, init_from=source)
  warm, _ = text_judges.train_judge(config, str(tmp_path / 'warm'), pools[0], log=messages.append, **one)
  assert any(f'initialized the params from the latest checkpoint in {source}' in m for m in messages), messages
  assert not any('resumed' in m for m in messages) and int(warm.step) == 1
  # One step of a fresh Adam moves each parameter by at most the learning rate from the source's.
  for a, b in zip(jax.tree.leaves(first.params), jax.tree.leaves(warm.params)):
    assert np.max(np.abs(np.asarray(a) - np.asarray(b))) <= config.learning_rate * 1.001
  with pytest.raises(ConfigError, match='--config.init_from:.*checkpoint'):
    text_judges.train_judge(tiny_config(init_from=str(tmp_path)), str(tmp_path / 'bad'), pools[0], log=QUIET, **one)
  with pytest.raises(ConfigError, match='--config.init_from:.*another model'):
    other = tiny_config(judge='tf2x48', init_from=source)
    text_judges.train_judge(other, str(tmp_path / 'other'), pools[0], log=QUIET, **one)


def _losses(workdir) -> list[float]:
  return [r['loss'] for r in _metrics(workdir) if 'loss' in r]


def test_one_and_two_devices_agree_with_and_without_parameter_sharding(tmp_path, pools):
  config = tiny_config(steps=4, log_every=1, checkpoint_every=4, min_k=0, k=4)
  one, _ = text_judges.train_judge(config, str(tmp_path / 'one'), pools[0], log=QUIET, devices=jax.devices()[:1])
  reference = _losses(tmp_path / 'one')
  for name, overrides in (('two', {}), ('fsdp', {'model_parallelism': 2})):
    other_config = config.copy_and_resolve_references()
    other_config.update(overrides)
    other, _ = text_judges.train_judge(
      other_config, str(tmp_path / name), pools[0], log=QUIET, devices=jax.devices()[:2]
    )
    np.testing.assert_allclose(_losses(tmp_path / name), reference, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(other.params)):
      np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-5)


def test_configs_and_bad_fields():
  for variant in text_configs.VARIANTS:
    config = text_configs.get_config(variant)
    text_judges.validate_config(config)
    assert variant == 'judge_smoke' or config.judge == variant.removeprefix('judge_').removesuffix('_h2')
    if variant.endswith('_h2'):  # The curriculum's first phase: 2-hop questions alone, on full stories.
      assert tuple(config.text_task.hops) == (2,) and config.k == config.min_k == 12 and config.num_fabricated == 0
  with pytest.raises(ValueError, match='variant'):
    text_configs.get_config('judge_tf9x9')
  for overrides, field in (
    ({'k': 13}, 'k'),
    ({'judge': 'tf9x9'}, 'judge'),
    ({'min_k': 3}, 'min_k'),
    ({'num_fabricated': 5}, 'num_fabricated'),
    ({'full_fraction': 1.5}, 'full_fraction'),
    ({'init_from': '/nonexistent'}, 'init_from'),
    ({'eval_k': (0, 13)}, 'eval_k'),
    ({'num_train_stories': 8}, 'num_train_stories'),
    ({'text_task': {**tiny_config().text_task.to_dict(), 'hops': (7,)}}, 'text_task'),
    ({'batch_size': 15}, 'batch_size'),
  ):
    with pytest.raises(ConfigError, match=f'--config.{field}:'):
      text_judges.validate_config(tiny_config(**overrides), num_devices=2)


def _launch(*args):
  return subprocess.run(
    [sys.executable, '-m', 'launch.train_judge', '--config=launch/configs/text.py:judge_smoke', *args],
    cwd=ROOT,
    env=xla_env(2),
    capture_output=True,
    text=True,
    timeout=300,
  )


def test_cli_end_to_end_and_bad_flags(tmp_path):
  workdir = tmp_path / 'run'
  small = ['--config.steps=4', '--config.checkpoint_every=2', '--config.num_train_stories=32']
  result = _launch(*small, '--config.num_test_stories=16', f'--workdir={workdir}')
  assert result.returncode == 0, result.stderr[-3000:]
  evaluation = json.loads((workdir / 'eval.json').read_text())
  assert json.loads(result.stdout.strip().splitlines()[-1]) == evaluation
  assert evaluation['step'] == 4 and evaluation['views']['full']['all']['games'] == 16
  assert '| blind |' in result.stdout and sorted(os.listdir(workdir / 'checkpoints')) == ['2', '4']
  bad = _launch('--config.k=13', f'--workdir={tmp_path / "bad"}')  # More quotes than a story has sentences.
  assert bad.returncode == 2 and '--config.k: 13 quotes' in bad.stderr and 'Traceback' not in bad.stderr, bad.stderr
  assert not (tmp_path / 'bad').exists()


def test_item_relations_on_a_hand_built_view():
  """Quotes that share a person, a place or an object, and their order in the story, as the attention reads
  them; the question, answers and empty slots have no story position."""
  vocab = text.vocabulary()
  encode = lambda words, n: [vocab.index(w) for w in words.split()] + [0] * (n - len(words.split()))
  items = jnp.array(
    [
      [
        [0] * 10,  # CLS
        encode('where is the red key at the end ?', 10),
        encode('hall', 10),
        encode('garden', 10),
        encode('mara took the red key .', 10),  # position 5
        encode('mara went to the hall .', 10),  # position 2
        encode('ilan went to the garden .', 10),  # position 7
      ]
    ]
  )
  sentence_ids = jnp.array([[13, 13, 13, 13, 5, 2, 7]])
  relations = np.asarray(text_judges.item_relations(items, sentence_ids, 12))[0]
  person, place, thing, order = relations & 1, relations >> 1 & 1, relations >> 2 & 1, relations >> 3
  assert person[4, 5] == 1 and person[4, 6] == 0 and person[5, 6] == 0
  assert place[5, 2] == 1 and place[6, 3] == 1 and place[5, 6] == 0 and place[2, 3] == 0
  assert thing[1, 4] == 1 and thing[4, 5] == 0  # The question and the first quote name the red key.
  assert order[4, 5] == 1 and order[5, 4] == 2 and order[4, 6] == 2 and order[4, 4] == 0 and order[1, 4] == 0
  assert (relations[0] == 0).all()  # The CLS item: nothing shared, no position.
  assert relations.max() < text_judges.NUM_RELATIONS


def test_training_views_draw_the_number_of_quotes_and_claims(pools):
  """k' in [min_k, k] verified quotes and f' in [min_fabricated, num_fabricated] claims, every count drawn."""
  instance = _instance(pools[0], 0)
  counts = set()
  for i in range(200):
    view = text_judges.training_view(
      jax.random.key(i), instance, k=3, min_k=1, num_fabricated=2, min_fabricated=0, show_verified=True
    )
    flags = np.asarray(view.flags)
    counts.add((int((flags == text.VERIFIED).sum()), int((flags == text.UNVERIFIED).sum())))
    assert flags.shape == (5,) and (np.asarray(view.positions)[flags == text.EMPTY] == -1).all()
  assert counts == {(q, c) for q in (1, 2, 3) for c in (0, 1, 2)}
  hidden = text_judges.training_view(
    jax.random.key(0), instance, k=3, min_k=1, num_fabricated=2, min_fabricated=0, show_verified=False
  )
  assert set(np.asarray(hidden.flags)) <= {text.EMPTY, text.HIDDEN}


def test_a_full_fraction_of_training_views_shows_every_quote_and_no_claim(pools):
  """With full_fraction = p, a view is k quotes and no claims with probability p, else drawn as before (the
  same view for the same key: full_fraction = 0 is the default's stream)."""
  instance = _instance(pools[0], 0)
  draw = lambda key, p: text_judges.training_view(
    key, instance, k=3, min_k=1, num_fabricated=2, min_fabricated=0, show_verified=True, full_fraction=p
  )
  full = 0
  for i in range(200):
    key = jax.random.key(i)
    mixed, plain = np.asarray(draw(key, 0.5).flags), np.asarray(draw(key, 0.0).flags)
    counts = (int((mixed == text.VERIFIED).sum()), int((mixed == text.UNVERIFIED).sum()))
    if counts == (3, 0) and not np.array_equal(mixed, plain):
      full += 1
    else:
      assert np.array_equal(mixed, plain) or counts == (3, 0)
    everything = np.asarray(draw(key, 1.0).flags)
    assert ((everything == text.VERIFIED).sum(), (everything == text.UNVERIFIED).sum()) == (3, 0)
  assert 70 <= full <= 100, full  # About 200 * 0.5, less the plain draws that were (3, 0) already (1 in 9).
