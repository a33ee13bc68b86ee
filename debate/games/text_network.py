"""The self-play network of text debate (`TextDebate.network`): a transformer pointer over the story's sentences
(and the fabricated claims) that reads the whole story, the question, both answers and the transcript.

Its input is `TextDebate.observe(state)` (what the debater to move sees; shapes for one game, any leading axes
allowed): story [S, L] int32 tokens, claims [F, L] and claim_positions [F] (only in games with claims), question
[Q], answers [2, N], and per action (A = S (+ F)): owner [A] (0 not played yet, 1 played by the mover, 2 by the
other side), slot [A] (the move that played it, K if none), flag [A] (the flag the judge sees for it: EMPTY if not
played); and side [] (the answer index the mover argues), truth [] (the true answer's index), moves_left [].

Every token is embedded as token + within-sentence position + its match code (bit 0: the token occurs in the
question, bit 1: in the mover's answer, bit 2: in the other answer; PAD never matches), passed through a GELU
layer and summed over the sentence's tokens: one vector per sentence, question and answer. The sequence

  [GLOBAL] question mover's_answer other_answer item_0 ... item_{A-1}

(GLOBAL: whether the mover argues the truth and the moves left; item a: action a's sentence plus embeddings of
its story position (a claim's claimed one), kind (quote or claim), owner, slot and flag; every token also gets a
segment embedding) goes through `depth` pre-LN transformer blocks (width // 32 heads, at least 1; a 4x GELU
MLP). The logits [A] are a linear read-out of each item (INVALID_LOGIT for actions already played), the value []
a tanh MLP of GLOBAL: the expected outcome for the mover.
"""

from __future__ import annotations

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from debate.agents.search import INVALID_LOGIT

NUM_FLAGS = 4  # EMPTY, VERIFIED, UNVERIFIED, HIDDEN (debate.tasks.text).
# Segments of the sequence.
_GLOBAL, _QUESTION, _MINE, _THEIRS, _QUOTE, _CLAIM = range(6)


def _flat(a: chex.Array, rank: int) -> chex.Array:
  """[..., *trailing] -> [B, *trailing], the `rank` trailing axes kept and the leading ones flattened."""
  return a.reshape(-1, *a.shape[a.ndim - rank :])


class Block(nn.Module):
  """x [B, T, W] -> [B, T, W]: pre-LN multi-head self-attention over all tokens, then a 4x GELU MLP."""

  width: int
  heads: int

  @nn.compact
  def __call__(self, x: chex.Array) -> chex.Array:
    h = nn.LayerNorm()(x)
    x = x + nn.MultiHeadDotProductAttention(num_heads=self.heads, qkv_features=self.width)(h, h)
    h = nn.LayerNorm()(x)
    return x + nn.Dense(self.width)(nn.gelu(nn.Dense(4 * self.width)(h)))


class TextPolicyValue(nn.Module):
  """observation (the module docstring; any leading axes [...]) -> (logits [..., A], value [...]).

  Attributes: vocab_size (tokens in [0, vocab_size), 0 = PAD), num_sentences S, max_moves K (the game's k),
  max_len (the longest sentence, question or answer), width, depth.
  """

  vocab_size: int
  num_sentences: int
  max_moves: int
  max_len: int
  width: int
  depth: int

  @nn.compact
  def __call__(self, observation: dict):
    story = observation['story']
    lead = story.shape[:-2]
    flat = lambda name, rank: _flat(observation[name], rank)
    story, question, answers = flat('story', 2), flat('question', 1), flat('answers', 2)
    owner, slot, flag = flat('owner', 1), flat('slot', 1), flat('flag', 1)
    side, truth, moves_left = (observation[name].reshape(-1) for name in ('side', 'truth', 'moves_left'))
    batch, num_sentences = story.shape[:2]
    rows = jnp.arange(batch)
    mine, theirs = answers[rows, side], answers[rows, 1 - side]
    if 'claims' in observation:
      claims, claim_positions = flat('claims', 2), flat('claim_positions', 1)
    else:
      claims, claim_positions = story[:, :0], jnp.zeros((batch, 0), jnp.int32)
    items = jnp.concatenate([story, claims], axis=1)  # [B, A, L]
    positions = jnp.concatenate(
      [jnp.broadcast_to(jnp.arange(num_sentences), (batch, num_sentences)), claim_positions], 1
    )
    kinds = jnp.concatenate([jnp.zeros((batch, num_sentences), jnp.int32), jnp.ones_like(claim_positions)], 1)

    token_embed = nn.Embed(self.vocab_size, self.width, name='token')
    within_embed = nn.Embed(self.max_len, self.width, name='within')
    match_embed = nn.Embed(8, self.width, name='match')
    token_layer = nn.Dense(self.width, name='token_layer')

    def occurs(tokens, among):  # tokens [B, ..., n], among [B, m] -> [B, ..., n] bool (PAD never occurs).
      shape = (batch,) + (1,) * (tokens.ndim - 1) + (among.shape[-1],)
      return ((tokens[..., None] == among.reshape(shape)) & (among.reshape(shape) != 0)).any(-1)

    def encode(tokens):  # tokens [B, ..., n] -> [B, ..., W].
      code = occurs(tokens, question) + 2 * occurs(tokens, mine) + 4 * occurs(tokens, theirs)
      within = jnp.minimum(jnp.arange(tokens.shape[-1]), self.max_len - 1)
      h = token_embed(tokens) + within_embed(within) + match_embed(code.astype(jnp.int32))
      return jnp.sum(jnp.where((tokens != 0)[..., None], nn.gelu(token_layer(h)), 0.0), axis=-2)

    segment = nn.Embed(6, self.width, name='segment')
    moves_embed = nn.Embed(self.max_moves + 1, self.width, name='moves_left')
    honest = (side == truth).astype(jnp.int32)
    head = [
      nn.Embed(2, self.width, name='honest')(honest) + moves_embed(jnp.clip(moves_left, 0, self.max_moves)),
      encode(question),
      encode(mine),
      encode(theirs),
    ]
    head = jnp.stack(head, axis=1) + segment(jnp.arange(4))  # [B, 4, W]
    body = (
      encode(items)
      + segment(_QUOTE + kinds)
      + nn.Embed(self.num_sentences, self.width, name='position')(jnp.clip(positions, 0, self.num_sentences - 1))
      + nn.Embed(3, self.width, name='owner')(owner)
      + nn.Embed(self.max_moves + 1, self.width, name='slot')(jnp.clip(slot, 0, self.max_moves))
      + nn.Embed(NUM_FLAGS, self.width, name='flag')(jnp.clip(flag, 0, NUM_FLAGS - 1))
    )
    x = jnp.concatenate([head, body], axis=1)
    for _ in range(self.depth):
      x = Block(self.width, max(1, self.width // 32))(x)
    x = nn.LayerNorm()(x)
    # No bias: a constant added to every logit changes no policy (see debate/games/images.py).
    logits = nn.Dense(1, use_bias=False, name='pointer')(x[:, head.shape[1] :])[..., 0]
    logits = jnp.where(owner == 0, logits, INVALID_LOGIT)
    value = jnp.tanh(nn.Dense(1, name='value')(nn.gelu(nn.Dense(self.width, name='value_hidden')(x[:, 0])))[..., 0])
    return logits.reshape(*lead, -1), value.reshape(lead)


def count_params(params) -> int:
  return sum(int(leaf.size) for leaf in jax.tree.leaves(params))
