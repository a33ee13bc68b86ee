"""Judges of the `text` task: Flax transformers that read a question, two answers and quoted sentences.

The judge's input is a `debate.tasks.text.TextView` with a leading batch axis: question [B, Q] int32 tokens
(0 = PAD), answers [B, 2, A], quotes [B, K, L] (the quoted sentences' tokens), positions [B, K] (a quote's
story index 0..S-1, or the index a claim pretends to have; -1 in an empty slot) and flags [B, K] (0 empty
slot, 1 verified quote, 2 unverified claim, 3 flag hidden). The judge reads one sequence of ITEMS

  [CLS] question answer_0 answer_1 quote_1 ... quote_K          (4 + K items)

in which the question, each answer and each quoted sentence is one item: a linear map of its tokens'
embeddings laid side by side in order (so a template's slots, who did what to whom, stay apart), where a
token's embedding is the sum of embeddings of the token, whether it is one of answer 0's and/or answer 1's
tokens (an exact-match feature, as reading-comprehension models use) and whether it occurs in the question.
To each item are added embeddings of its segment (CLS / question / answer 0 / answer 1 / quote) and, for
quotes, its sentence position (0..S-1; S for a claim without a position) and its flag. Empty slots (flag 0)
are masked out of attention, so an empty slot's content and position do not change the output. A pre-LN
transformer encoder (`depth` blocks of multi-head self-attention, max(1, width // 32) heads, and a 4x GELU
MLP) reads the items; every head of every block adds to its attention scores a learned number per RELATION
of the two items (`item_relations`: whether they name the same person, the same place, the same colour or
noun, and which comes first in the story), the way relation-aware transformers read graphs, so following a
chain (who got the key, where that person went, whom they followed) is a matter of attending along shared
names. The final CLS state gives two logits, class c = "answers[c] is the true answer":
`model.apply(params, views) -> logits [B, 2]`. So the image judges' cross-entropy and accuracy serve it as a
2-class classifier, and judges/trainer.py trains it like an image judge (`TextJudgeTask`, `train_judge`;
`evaluate` measures accuracy by view and hops).

Why this shape (full-story training, tf2x64, batch 64, 1,000 test stories; BUILD_NOTES "Issue 17"): a
token-level encoder (one position per token, about 130 for K = 14) trained 7x to 17x slower on a CPU and
after 4,000 steps read 2-hop questions at chance (51%); one item per sentence reads 1-hop questions at
99.8% and 2-hop ones at 63% after 15,000 steps; relabeling training views by the task's symmetries
(`text.relabeling`) raises that to 75%, and the relation scores to 81% (h = 3: 70%, h = 4: 76%). What took
the 2-hop questions past 95% is a curriculum, not a bigger judge (tf3x64, full stories, 6,000 steps: 79% on
h = 2 from scratch, 100% after 3,000 steps on 2-hop questions alone; launch/configs/text.py trains every rung
so, with `init_from`, then on every h and view with half the views the full story, `full_fraction`, without
which the views of a few quotes wash the rule out again): questions of h = 2, 3 and 4 share one text and
their distractors are the other chains' answers, so from scratch a judge settles on a blend of the three
rules, while a judge that knows the 2-hop rule learns the longer chains as its exceptions. Scores per pair
of word slots shared by two items and per story distance did not help (77% on h = 2).

The ladder, weakest first (parameters for the default TextTask: questions of 10 tokens, answers of 3,
S = 12 sentences of 8 tokens); the first four are the ladder of the experiments, which a CPU trains:
  tf1x32    1 block,  width 32,  1 head      36,698
  tf2x48    2 blocks, width 48,  1 head     108,626
  tf3x64    3 blocks, width 64,  2 heads    240,914
  tf4x96    4 blocks, width 96,  3 heads    648,290
  tf4x256   4 blocks, width 256, 8 heads  4,555,010   (for an accelerator)

Games hold a judge as a `TextJudge` (frozen, hashable): `judge(params, view) -> []` float32, the logit of
P(answers[0] is the true answer), for one unbatched view (games vmap it).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from debate.experiments import runfiles
from debate.experiments.runfiles import ConfigError
from debate.tasks import text
from debate.tasks import text_stories as stories
from debate.tasks.idx import shard_bounds
from judges import trainer

Params = Any

# Segments of the token sequence.
_CLS, _QUESTION, _ANSWER_0, _ANSWER_1, _QUOTE = range(5)
NUM_FLAGS = 4  # 0 empty slot, 1 verified, 2 unverified, 3 hidden.


@dataclasses.dataclass(frozen=True)
class LadderRung:
  """One size of the ladder: `depth` pre-LN blocks of `width` features, `width // 32` heads (at least 1)."""

  depth: int
  width: int


JUDGE_MODELS = {  # The ladder of the module docstring, weakest first.
  'tf1x32': LadderRung(1, 32),
  'tf2x48': LadderRung(2, 48),
  'tf3x64': LadderRung(3, 64),
  'tf4x96': LadderRung(4, 96),
  'tf4x256': LadderRung(4, 256),  # Beyond the CPU ladder: for an accelerator.
}


class SelfAttention(nn.Module):
  """x [B, T, W], valid [B, T] bool, bias [B, H, T, T] (added to the scores) -> [B, T, W]: multi-head
  self-attention over the valid tokens (keys).

  Queries and values have biases, keys none: a key bias adds the same score to every key of a query, which
  the softmax ignores, so its gradient is zero up to rounding, which Adam would amplify into layout-dependent
  steps. Masked scores are the float minimum, so a masked token's weight is exactly 0.
  """

  width: int
  heads: int

  @nn.compact
  def __call__(self, x: chex.Array, valid: chex.Array, bias: chex.Array) -> chex.Array:
    size = self.width // self.heads
    q = nn.DenseGeneral((self.heads, size), name='query')(x)
    k = nn.DenseGeneral((self.heads, size), use_bias=False, name='key')(x)
    v = nn.DenseGeneral((self.heads, size), name='value')(x)
    scores = jnp.einsum('bqhd,bkhd->bhqk', q, k) / jnp.sqrt(size).astype(x.dtype) + bias
    scores = jnp.where(valid[:, None, None, :], scores, jnp.finfo(scores.dtype).min)
    out = jnp.einsum('bhqk,bkhd->bqhd', jax.nn.softmax(scores, axis=-1), v)
    return nn.DenseGeneral(self.width, axis=(-2, -1), name='out')(out)


class EncoderBlock(nn.Module):
  """x [B, T, W], valid [B, T] bool, relations [B, T, T] int32 in [0, NUM_RELATIONS) -> [B, T, W]: pre-LN
  self-attention (each head adds a learned score per relation of query and key) then a 4x GELU MLP, both
  residual."""

  width: int
  heads: int

  @nn.compact
  def __call__(self, x: chex.Array, valid: chex.Array, relations: chex.Array) -> chex.Array:
    scores = nn.Embed(NUM_RELATIONS, self.heads, embedding_init=nn.initializers.zeros)(relations)
    bias = jnp.moveaxis(jnp.where((relations != 0)[..., None], scores, 0.0), -1, 1)  # Relation 0 scores 0.
    x = x + SelfAttention(self.width, self.heads)(nn.LayerNorm()(x), valid, bias)
    h = nn.LayerNorm()(x)
    return x + nn.Dense(self.width)(nn.gelu(nn.Dense(4 * self.width)(h)))


# Relations between two items (query i, key j) that every attention head scores: whether they share a person,
# a place, a colour or noun (3 bits), and whether j's story position is before, after or not comparable to i's.
_CATEGORIES = np.zeros(len(text.vocabulary()), np.int32)
for _category, _words in enumerate((stories.NAMES, stories.PLACES, stories.COLORS + stories.NOUNS), start=1):
  _CATEGORIES[[text.vocabulary().index(w) for w in _words]] = _category
NUM_RELATIONS = 8 * 3


def item_relations(item_tokens: chex.Array, sentence_ids: chex.Array, num_sentences: int) -> chex.Array:
  """item_tokens [B, T, N] int32 (each item's tokens, 0 = PAD), sentence_ids [B, T] (a quote's story position
  in [0, S), S or more for no position) -> relations [B, T, T] int32 in [0, NUM_RELATIONS): shared person
  + 2 shared place + 4 shared colour or noun + 8 * order (1: j's position before i's, 2: after, 0: equal or
  either without a position). Relation 0 (nothing shared, no order) scores 0 in every head (EncoderBlock):
  every query has a key in it (the CLS item), so no head can add the same learned score to a whole row,
  whose gradient the softmax would zero up to rounding."""
  categories = jnp.asarray(_CATEGORIES)[item_tokens]  # [B, T, N]; tokens past the table are 'other' (0).
  hot = jax.nn.one_hot(item_tokens, len(_CATEGORIES), dtype=jnp.float32)  # [B, T, N, V]
  batch, items = item_tokens.shape[:2]
  relations = jnp.zeros((batch, items, items), jnp.int32)
  for bit, category in enumerate((1, 2, 3)):
    bag = jnp.max(hot * (categories == category)[..., None], axis=2)  # [B, T, V]
    relations += (jnp.einsum('btv,bsv->bts', bag, bag) > 0).astype(jnp.int32) << bit
  known = sentence_ids < num_sentences
  before = sentence_ids[:, None, :] < sentence_ids[:, :, None]
  after = sentence_ids[:, None, :] > sentence_ids[:, :, None]
  comparable = known[:, :, None] & known[:, None, :]
  order = jnp.where(comparable & before, 1, jnp.where(comparable & after, 2, 0))
  return relations + 8 * order


class TextJudgeModel(nn.Module):
  """views (a TextView with a leading batch axis) -> logits [B, 2]; the module docstring's transformer.

  Attributes:
    vocab_size: token ids are in [0, vocab_size) (0 = PAD).
    num_sentences: S, the story's sentences; positions are in [0, S] (S: a claim without a position), any
      value (-1) in an empty slot.
    depth, width: the encoder's blocks and features; heads = max(1, width // 32).
  """

  vocab_size: int
  num_sentences: int
  depth: int = 1
  width: int = 32

  @nn.compact
  def __call__(self, views, *, train: bool = False) -> chex.Array:
    del train  # No dropout: the same function in training and in games.
    question, answers = jnp.asarray(views.question), jnp.asarray(views.answers)
    quotes, positions, flags = (jnp.asarray(a) for a in (views.quotes, views.positions, views.flags))
    if question.ndim != 2 or answers.ndim != 3 or quotes.ndim != 3 or answers.shape[1] != 2:
      raise ValueError(
        'a text judge takes batched views: question [B, Q], answers [B, 2, A], quotes [B, K, L], got '
        f'{question.shape}, {answers.shape}, {quotes.shape}; vmap or add a batch axis for one view'
      )
    batch, num_slots = quotes.shape[:2]
    token_embed = nn.Embed(self.vocab_size, self.width, name='token')
    answer_match_embed = nn.Embed(4, self.width, name='answer_match')
    question_match_embed = nn.Embed(2, self.width, name='question_match')

    def tokens_in(tokens, others):
      """tokens [B, ..., N] -> [B, ..., N] bool: the non-PAD tokens that also occur in others [B, M]."""
      flat = tokens.reshape(batch, -1, 1)
      found = ((flat == others[:, None, :]) & (others[:, None, :] != 0)).any(-1) & (flat[..., 0] != 0)
      return found.reshape(tokens.shape)

    def items(tokens, name):
      """tokens [B, ..., N] -> [B, ..., width]: each sentence, question or answer as ONE item, a linear map of
      its tokens' embeddings in order (token + answer match + question match), so a template's slots stay
      apart."""
      match_ids = tokens_in(tokens, answers[:, 0]) + 2 * tokens_in(tokens, answers[:, 1])
      per_token = (
        token_embed(tokens)
        + answer_match_embed(match_ids.astype(jnp.int32))
        + question_match_embed(tokens_in(tokens, question).astype(jnp.int32))
      )
      return nn.Dense(self.width, name=f'{name}_in')(per_token.reshape(*tokens.shape[:-1], -1))

    x = jnp.concatenate(
      [
        jnp.broadcast_to(self.param('cls', nn.initializers.normal(0.02), (self.width,)), (batch, 1, self.width)),
        items(question, 'question')[:, None],
        items(answers, 'answer'),
        items(quotes, 'sentence'),
      ],
      axis=1,
    )  # [B, 4 + K, width]
    segments = jnp.array([_CLS, _QUESTION, _ANSWER_0, _ANSWER_1] + [_QUOTE] * num_slots)
    # S + 2 sentence positions: 0..S-1 quoted or claimed, S a claim without a position, S + 1 not a quote;
    # an empty slot's position is arbitrary (clipped into the table; the slot is masked out anyway).
    slot_positions = jnp.clip(positions, 0, self.num_sentences)
    sentence_ids = jnp.concatenate([jnp.full((batch, 4), self.num_sentences + 1), slot_positions], axis=1)
    flag_ids = jnp.concatenate([jnp.zeros((batch, 4), jnp.int32), jnp.clip(flags, 0, NUM_FLAGS - 1)], axis=1)
    x = (
      x
      + nn.Embed(5, self.width, name='segment')(segments)
      + nn.Embed(self.num_sentences + 2, self.width, name='sentence')(sentence_ids)
      + jnp.where((segments == _QUOTE)[:, None], nn.Embed(NUM_FLAGS, self.width, name='flag')(flag_ids), 0.0)
    )
    valid = jnp.concatenate([jnp.ones((batch, 4), bool), flags != 0], axis=1)  # Empty slots are masked out.
    length = max(question.shape[-1], answers.shape[-1], quotes.shape[-1])
    pad = lambda a: jnp.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, length - a.shape[-1])])
    item_tokens = jnp.concatenate(
      [jnp.zeros((batch, 1, length), jnp.int32), pad(question)[:, None], pad(answers), pad(quotes)], axis=1
    )
    relations = item_relations(item_tokens, sentence_ids, self.num_sentences)
    heads = max(1, self.width // 32)
    for _ in range(self.depth):
      x = EncoderBlock(self.width, heads)(x, valid, relations)
    return nn.Dense(2, name='head')(nn.LayerNorm()(x[:, 0]))


def sequence_length(model: TextJudgeModel, views) -> int:
  """T, the positions `model`'s encoder reads per view of `views` (batched; arrays or shapes), PAD and empty
  slots included: its first EncoderBlock's output [B, T, width], asked of the model by an abstract trace."""

  def encoded(views):
    return model.apply(model.init(jax.random.key(0), views), views, capture_intermediates=True)[1]

  return jax.eval_shape(encoded, views)['intermediates']['EncoderBlock_0']['__call__'][0].shape[1]


def make_judge(name: str, *, vocab_size: int, num_sentences: int) -> TextJudgeModel:
  """The ladder's model `name` (JUDGE_MODELS) for a task's vocabulary and story length S."""
  if name not in JUDGE_MODELS:
    raise ValueError(f'unknown text judge {name!r}; expected one of {", ".join(JUDGE_MODELS)}')
  rung = JUDGE_MODELS[name]
  return TextJudgeModel(vocab_size, num_sentences, depth=rung.depth, width=rung.width)


@dataclasses.dataclass(frozen=True)
class TextJudge:
  """A learned text judge as a game holds it (frozen, hashable): `judge(params, view)` -> [] float32, the
  logit of P(view.answers[0] is the true answer), for ONE unbatched view; `logits(params, views)` -> [B, 2]
  for a batch."""

  model: str
  vocab_size: int
  num_sentences: int

  def __post_init__(self):
    self.module()  # Validates the name.

  def module(self) -> TextJudgeModel:
    return make_judge(self.model, vocab_size=self.vocab_size, num_sentences=self.num_sentences)

  def logits(self, params: Params, views) -> chex.Array:
    """views: a batched TextView -> logits [B, 2] (class c: answers[c] is true)."""
    return self.module().apply(params, views)

  def __call__(self, params: Params, view) -> chex.Array:
    """view: one unbatched TextView -> [] float32, log P(answers[0] true) - log P(answers[1] true)."""
    logits = self.logits(params, jax.tree.map(lambda a: jnp.asarray(a)[None], view))[0]
    return (logits[0] - logits[1]).astype(jnp.float32)


def count_params(params: Params) -> int:
  return sum(int(leaf.size) for leaf in jax.tree.leaves(params))


def judge_for(task: text.TextTask, name: str) -> TextJudge:
  """The ladder's judge `name` for `task` (its vocabulary and S)."""
  return TextJudge(name, len(text.vocabulary()), task.num_sentences)


# ------------------------------------------------------------------------------------------------------------
# Training: the text task of judges/trainer.py.

# The config fields (and the training data's description) that change a text judge's training: a resumed run
# must keep them (judges/train.py's RESULT_FIELDS explains the others).
RESULT_FIELDS = (
  'task',
  'text_task',
  'judge',
  'k',
  'min_k',
  'num_fabricated',
  'min_fabricated',
  'full_fraction',
  'show_verified',
  'augment',
  'init_from',
  'learning_rate',
  'lr_decay',
  'batch_size',
  'seed',
  'num_train_stories',
  'train_data',
)
# Instance i of the test split is generator index TEST_OFFSET + i of the seed (training: index i).
TEST_OFFSET = 1 << 30
_INT_FIELDS = {
  'k': 0,
  'min_k': 0,
  'num_fabricated': 0,
  **trainer.COMMON_INT_FIELDS,
  'num_train_stories': 1,
  'num_test_stories': 1,
}


def drop_quotes(view: text.TextView, keep: chex.Array, flag: int = text.VERIFIED) -> text.TextView:
  """`view` (one, unbatched) with only the first `keep` slots flagged `flag` (verified quotes, or claims:
  text.UNVERIFIED) left, in slot order; the others become empty slots (quotes 0, position -1, flag EMPTY)."""
  chosen = view.flags == flag
  dropped = chosen & (jnp.cumsum(chosen) > keep)
  return view.replace(
    quotes=jnp.where(dropped[:, None], 0, view.quotes),
    positions=jnp.where(dropped, -1, view.positions),
    flags=jnp.where(dropped, text.EMPTY, view.flags),
  )


def training_view(
  key: chex.PRNGKey,
  instance: text.TextInstance,
  *,
  k: int,
  min_k: int,
  num_fabricated: int,
  show_verified: bool,
  min_fabricated: int | None = None,
  full_fraction: float = 0.0,
) -> text.TextView:
  """One training example's view: `random_view(key, instance, k, num_fabricated, show_verified)`, of which
  k' uniform in [min_k, k] (from fold_in(key, 1)) verified quotes and f' uniform in [min_fabricated,
  num_fabricated] (from fold_in(key, 3); default: all) claims are kept (`drop_quotes`: k + num_fabricated
  slots, the others empty); with probability `full_fraction` (from fold_in(key, 4)) all k quotes and no
  claims instead (with k = S: the full story)."""
  min_fabricated = num_fabricated if min_fabricated is None else min_fabricated
  full = jax.random.bernoulli(jax.random.fold_in(key, 4), full_fraction) if full_fraction > 0 else False
  view = text.random_view(key, instance, k, num_fabricated, True)
  if min_k < k:
    keep = jax.random.randint(jax.random.fold_in(key, 1), (), min_k, k + 1)
    view = drop_quotes(view, jnp.where(full, k, keep))
  if min_fabricated < num_fabricated or full_fraction > 0:
    keep = jax.random.randint(jax.random.fold_in(key, 3), (), min_fabricated, num_fabricated + 1)
    view = drop_quotes(view, jnp.where(full, 0, keep), text.UNVERIFIED)
  return view if show_verified else view.replace(flags=text.hide_flags(view.flags))


@dataclasses.dataclass(frozen=True)
class TextJudgeTask(trainer.JudgeTask):
  """The text task for the trainer: examples are `TextInstance`s (a pool of stories), each seen through a
  random view of k quotes (or k' in [min_k, k]) and `num_fabricated` claims; the class is instance.label."""

  task: text.TextTask
  judge: str
  k: int
  num_fabricated: int
  show_verified: bool = True
  min_k: int | None = None
  augment: bool = False  # Each training view relabeled by a random symmetry of the task (text.relabeling).
  min_fabricated: int | None = None  # Claims per view uniform in [min_fabricated, num_fabricated] (None: all).
  full_fraction: float = 0.0  # The fraction of views with all k quotes and no claims (training_view).

  def make_model(self) -> nn.Module:
    return judge_for(self.task, self.judge).module()

  def init_input(self) -> text.TextView:
    task = self.task
    return text.TextView(
      question=jnp.zeros((1, task.question_len), jnp.int32),
      answers=jnp.zeros((1, 2, task.answer_len), jnp.int32),
      quotes=jnp.zeros((1, 1, task.sentence_len), jnp.int32),
      positions=jnp.full((1, 1), -1, jnp.int32),
      flags=jnp.zeros((1, 1), jnp.int32),
    )

  def views(self, key: chex.PRNGKey, indices: chex.Array, examples: text.TextInstance) -> text.TextView:
    min_k = self.k if self.min_k is None else self.min_k

    def draw(i, instance):
      view = training_view(
        jax.random.fold_in(key, i),
        instance,
        k=self.k,
        min_k=min_k,
        num_fabricated=self.num_fabricated,
        show_verified=self.show_verified,
        min_fabricated=self.min_fabricated,
        full_fraction=self.full_fraction,
      )
      if self.augment:
        view = text.relabel(view, text.relabeling(jax.random.fold_in(jax.random.fold_in(key, i), 2), self.task))
      return view

    return jax.vmap(draw)(indices, examples)

  def train_data(self, data: trainer.JudgeData) -> dict:
    return {'examples': int(data.total), 'num_sentences': self.task.num_sentences, 'order': trainer.DATA_ORDER}

  def name(self) -> str:
    k = f'{self.min_k}..{self.k}' if self.min_k not in (None, self.k) else str(self.k)
    f = (
      self.num_fabricated
      if self.min_fabricated in (None, self.num_fabricated)
      else f'{self.min_fabricated}..{self.num_fabricated}'
    )
    return f'{self.judge} (k={k}, {f} claims)'


def text_task(config: ml_collections.ConfigDict) -> text.TextTask:
  """The config's TextTask (`text_task` holds its fields); ConfigError naming text_task if it is bad."""
  fields = config.text_task.to_dict() if hasattr(config.text_task, 'to_dict') else dict(config.text_task)
  try:
    return text.TextTask(**{name: tuple(v) if isinstance(v, list) else v for name, v in fields.items()})
  except (TypeError, ValueError) as e:
    raise ConfigError('text_task', str(e)) from None


def curriculum_config(config: ml_collections.ConfigDict, steps: int) -> ml_collections.ConfigDict:
  """The first phase of the ladder's curriculum for the judge `config`: the same judge and seed trained for
  `steps` steps on 2-hop questions alone, read from full stories (every sentence, no claims), on at most
  10,000 training and 1,000 test stories. Phase 2 is `config` with init_from = the phase's workdir."""
  phase = config.copy_and_resolve_references()
  phase.text_task.hops = (2,)
  num_sentences = phase.text_task.num_sentences
  phase.update(k=num_sentences, min_k=num_sentences, num_fabricated=0, min_fabricated=0, full_fraction=0.0)
  phase.update(steps=steps, eval_k=(), init_from='')
  phase.update(
    num_train_stories=min(config.num_train_stories, 10_000), num_test_stories=min(config.num_test_stories, 1_000)
  )
  return phase


def task_from_config(config: ml_collections.ConfigDict) -> TextJudgeTask:
  """The trainer's task of a (validated, or saved) text judge config."""
  return TextJudgeTask(
    text_task(config),
    config.judge,
    config.k,
    config.num_fabricated,
    bool(config.show_verified),
    config.get('min_k', config.k),
    bool(config.get('augment', False)),
    config.get('min_fabricated', config.num_fabricated),
    float(config.get('full_fraction', 0.0)),
  )


def validate_config(config: ml_collections.ConfigDict, *, num_devices: int | None = None) -> None:
  """Raises ConfigError (naming the field) for a text judge config `train_judge` cannot run: missing fields,
  integers out of range, a bad TextTask, an unknown judge, k > S, min_k > k, more claims than the task
  fabricates, an eval_k out of [0, S], fewer training stories than the batch, and the mesh's constraints."""
  for field in ('task', 'text_task', 'judge', 'learning_rate', 'show_verified', 'eval_k', *_INT_FIELDS):
    if field not in config:
      raise ConfigError(field, 'missing from the config; the text judge trainer needs it')
  ints = {field: runfiles.int_field(config, field, minimum) for field, minimum in _INT_FIELDS.items()}
  runfiles.positive_field(config, 'learning_rate')
  task = text_task(config)
  eval_k = tuple(config.eval_k)
  for field, bad, message in (
    ('task', config.task != 'text', f"the text judge trainer trains judges of the 'text' task, got {config.task!r}"),
    (
      'judge',
      config.judge not in JUDGE_MODELS,
      f'unknown text judge {config.judge!r}; expected one of {", ".join(JUDGE_MODELS)}',
    ),
    (
      'k',
      ints['k'] > task.num_sentences,
      f'{ints["k"]} quotes is more than a story has (text_task.num_sentences={task.num_sentences})',
    ),
    ('min_k', ints['min_k'] > ints['k'], f'{ints["min_k"]} is more than k={ints["k"]}'),
    (
      'min_fabricated',
      not isinstance(config.get('min_fabricated', 0), int)
      or not 0 <= config.get('min_fabricated', 0) <= ints['num_fabricated'],
      f'must be an integer in [0, num_fabricated={ints["num_fabricated"]}], got {config.get("min_fabricated")!r}',
    ),
    (
      'full_fraction',
      not isinstance(config.get('full_fraction', 0.0), (int, float)) or not 0 <= config.get('full_fraction', 0.0) <= 1,
      f'must be a fraction in [0, 1], got {config.get("full_fraction")!r}',
    ),
    (
      'num_fabricated',
      ints['num_fabricated'] > task.num_fabricated,
      f'{ints["num_fabricated"]} claims is more than an instance has (text_task.num_fabricated={task.num_fabricated})',
    ),
    (
      'show_verified',
      not isinstance(config.show_verified, bool),
      f'must be True or False, got {config.show_verified!r}',
    ),
    (
      'augment',
      not isinstance(config.get('augment', False), bool),
      f'must be True or False, got {config.get("augment")!r}',
    ),
    (
      'eval_k',
      not all(isinstance(k, int) and 0 <= k <= task.num_sentences for k in eval_k),
      f'every k must be an integer in [0, {task.num_sentences}] (text_task.num_sentences), got {eval_k}',
    ),
    (
      'num_train_stories',
      ints['num_train_stories'] < ints['batch_size'],
      f'{ints["num_train_stories"]} is fewer than the batch ({ints["batch_size"]}): each row of the batch draws '
      'from its own N / B stories',
    ),
  ):
    if bad:
      raise ConfigError(field, message)
  trainer.validate_common(config, jax.device_count() if num_devices is None else num_devices)


def make_data(
  config: ml_collections.ConfigDict, split: str, *, process_index: int = 0, process_count: int = 1
) -> trainer.JudgeData:
  """This process's shard of the `split` ('train' or 'test') stories: instances 0..N-1 of the generator at
  the config's seed (test: TEST_OFFSET + i), as numpy TextInstance fields; labels are instance.label."""
  task = text_task(config)
  total = config.num_train_stories if split == 'train' else config.num_test_stories
  offset = 0 if split == 'train' else TEST_OFFSET
  start, stop = shard_bounds(total, process_index, process_count)
  rows = [text.generate(task, config.seed, offset + i) for i in range(start, stop)]
  instances = text.TextInstance(**{name: np.stack([row[name] for row in rows]) for name in rows[0]})
  return trainer.JudgeData(instances, np.asarray(instances.label, np.int32), start=start, total=total)


def check_workdir(config: ml_collections.ConfigDict, workdir: str, data: trainer.JudgeData) -> None:
  """Raises WorkdirError if `workdir` holds a run that `config` cannot resume. Writes nothing."""
  trainer.check_workdir(config, workdir, task_from_config(config), data, fields=RESULT_FIELDS)


def train_judge(
  config: ml_collections.ConfigDict,
  workdir: str,
  data_train: trainer.JudgeData,
  data_test: trainer.JudgeData | None = None,
  *,
  log: Callable[[str], None] = print,
  devices: Sequence[jax.Device] | None = None,
) -> tuple[trainer.TrainState, dict]:
  """Trains (or resumes) the text judge of `config` (launch/configs/text.py) on random views of `data_train`
  (make_data), then, with `data_test`, measures `evaluate`; see judges/trainer.py `train` for the rest."""
  validate_config(config, num_devices=len(jax.devices() if devices is None else devices))
  task = task_from_config(config)

  def evaluation(model: nn.Module, params: Params) -> tuple[dict, str]:
    result = evaluate(
      model,
      params,
      data_test,
      task,
      eval_k=tuple(config.eval_k),
      seed=config.seed,
      batch_size=config.eval_batch_size,
    )
    views = result['views']
    return result, 'test accuracy: ' + ', '.join(f'{name} {views[name]["all"]["accuracy"]:.4f}' for name in views)

  return trainer.train(
    task,
    config,
    workdir,
    data_train,
    result_fields=RESULT_FIELDS,
    evaluate=None if data_test is None else evaluation,
    log=log,
    devices=devices,
  )


# ------------------------------------------------------------------------------------------------------------
# Evaluation.


def evaluation_views(task: TextJudgeTask, eval_k: Sequence[int]) -> dict[str, Callable]:
  """{name: views(key, indices, instances)}: 'k=K' random views with K quotes and the task's claims (for
  every K of eval_k and the trained k), 'blind' (no quotes) and 'full' (all S sentences, verified)."""
  fabricated, shown = task.num_fabricated, task.show_verified

  def random_views(k):
    return lambda key, indices, instances: jax.vmap(
      lambda i, instance: text.random_view(jax.random.fold_in(key, i), instance, k, fabricated, shown)
    )(indices, instances)

  ks = sorted({task.k, *eval_k})
  return {
    **{f'k={k}': random_views(k) for k in ks},
    'blind': lambda key, indices, instances: jax.vmap(text.blind_view)(instances),
    'full': lambda key, indices, instances: jax.vmap(lambda instance: text.full_view(instance, shown))(instances),
  }


def evaluate(
  model: nn.Module,
  params: Params,
  data: trainer.JudgeData,
  task: TextJudgeTask,
  *,
  eval_k: Sequence[int] = (),
  seed: int,
  batch_size: int,
) -> dict:
  """The judge's test accuracy on the whole split `data`, by view and by hops h.

  Instance i (global index `data.start + i`) is judged once per view, a random view drawn from
  fold_in(key(seed), data.start + i), so results do not depend on the batch size, the devices or the
  processes (trainer.count_correct).

  Returns:
    {'k', 'num_fabricated', 'show_verified', 'seed', 'accuracy' (random views at the trained k, all hops),
    'views': {name: {'all': record, 'by_hops': {'h': record}}}} with records {'correct', 'games',
    'accuracy', 'ci95': [low, high] (Wilson)}, names as `evaluation_views`.
  """
  hops = sorted(set(text.QTYPE_HOPS))
  groups = np.searchsorted(hops, np.asarray(data.examples.hops))
  views = {}
  for name, draw in evaluation_views(task, eval_k).items():
    correct, games = trainer.count_correct(
      model, params, draw, data, key=jax.random.key(seed), batch_size=batch_size, groups=groups, num_groups=len(hops)
    )
    views[name] = {
      'all': trainer.accuracy_record(correct.sum(), games.sum()),
      'by_hops': {str(h): trainer.accuracy_record(c, g) for h, c, g in zip(hops, correct, games) if g},
    }
  return {
    'k': task.k,
    'num_fabricated': task.num_fabricated,
    'show_verified': task.show_verified,
    'seed': seed,
    'accuracy': views[f'k={task.k}']['all']['accuracy'],
    'views': views,
  }


def format_evaluation(result: dict) -> str:
  """A Markdown table of `evaluate`'s result: accuracy (Wilson 95% interval, games) per view and hops h."""
  views = result['views']
  hops = sorted({h for view in views.values() for h in view['by_hops']}, key=int)
  cell = lambda r: f'{100 * r["accuracy"]:.1f} [{100 * r["ci95"][0]:.1f}, {100 * r["ci95"][1]:.1f}] n={r["games"]}'
  lines = [
    f'test accuracy (%, Wilson 95% CI, games), {result["num_fabricated"]} claims, flags '
    f'{"shown" if result["show_verified"] else "hidden"}:',
    '| view | all | ' + ' | '.join(f'h={h}' for h in hops) + ' |',
    '|---' * (len(hops) + 2) + '|',
  ]
  for name, view in views.items():
    by_hops = [cell(view['by_hops'][h]) if h in view['by_hops'] else '-' for h in hops]
    lines.append(f'| {name} | {cell(view["all"])} | ' + ' | '.join(by_hops) + ' |')
  return '\n'.join(lines)
