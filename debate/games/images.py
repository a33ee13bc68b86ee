"""The sparse-pixel image game of Irving et al. 2018 on the game interface, judged by an image classifier.

The dynamics, judge view and verdicts are those of `debate.games.pixels`; this module says whose turn it is.
An instance is an `image_game.ImageGame` (`image_game.make_game(image, label, claim, num_actions)`): its
`claim` makes the game precommit debate (claim = the lie >= 0) or debate without precommit (claim = -1), or,
in consultancy, the label the consultant argues for. An action is an index into the image's nonzero pixels
(`ImageGame.candidates`, A = `num_actions`); a move reveals that pixel. The game ends after `k` moves, or
earlier if no unrevealed nonzero pixel is left.

- mode 'debate': player 0 the honest debater, player 1 the liar, alternating (`honest_first` says who makes
  move 0); the honest side wins iff `image_game.honest_margin` > 0 (a tie goes to the liar).
- mode 'consultancy': one player, the consultant; it wins iff the judge accepts its claim.

Key: unused (the game has no chance moves).
"""

from __future__ import annotations

import dataclasses

import chex
import jax.numpy as jnp

from debate.games import base
from debate.games import pixels as image_game
from debate.games.pixels import ImageGame, ImageState, Roles
from judges.image_judges import ImageJudge


@chex.dataclass(frozen=True)
class ImageGameState:
  """game: the ImageGame (image [H, W], label, claim, candidates [A], num_candidates); board: the ImageState
  (revealed [k] int32 pixels in move order, num_revealed [] int32)."""

  game: ImageGame
  board: ImageState


@dataclasses.dataclass(frozen=True)
class ImageDebate(base.Game):
  """k reveals over A candidate pixels, judged by `judge` (its params: the judge params of `verdict`)."""

  judge: ImageJudge
  k: int
  actions: int
  mode: str = 'debate'
  honest_first: bool = True

  def __post_init__(self):
    Roles(self.mode)  # Validates the mode.
    if not 1 <= self.k <= self.actions:
      raise ValueError(f'k (pixels revealed) must be in [1, num_actions={self.actions}], got {self.k}')

  @property
  def roles(self) -> Roles:
    return Roles(self.mode, self.honest_first)

  @property
  def num_actions(self) -> int:
    return self.actions

  @property
  def max_moves(self) -> int:
    return self.k

  @property
  def num_players(self) -> int:
    return 2 if self.mode == 'debate' else 1

  def init(self, key, instance: ImageGame) -> ImageGameState:
    del key
    if instance.candidates.shape[-1] != self.actions:
      raise ValueError(f'instance has {instance.candidates.shape[-1]} candidate pixels, game has {self.actions}')
    return ImageGameState(game=instance, board=image_game.init_state(instance, self.k))

  def current_player(self, state: ImageGameState) -> chex.Array:
    if self.mode == 'consultancy':
      return jnp.int32(0)
    return jnp.where(self.roles.honest_to_move(state.board.num_revealed), 0, 1).astype(jnp.int32)

  def terminal(self, state: ImageGameState) -> chex.Array:
    return (state.board.num_revealed >= self.k) | ~image_game.valid_actions(state.game, state.board).any()

  def _legal_actions(self, state: ImageGameState) -> chex.Array:
    return image_game.valid_actions(state.game, state.board)

  def _apply(self, state: ImageGameState, action: chex.Array) -> ImageGameState:
    return ImageGameState(game=state.game, board=image_game.step(state.board, state.game.candidates[action]))

  def judge_view(self, state: ImageGameState) -> chex.Array:
    """[H, W, 2] float32: the revealed mask and the revealed values."""
    return image_game.judge_planes(state.game, state.board)

  def verdict(self, judge_params, state: ImageGameState) -> chex.Array:
    """[P] float32: debate (+1, -1) if the honest side wins, else (-1, +1); consultancy [+1] iff accepted."""
    logits = image_game.judge_logits(self.judge, judge_params, state.game, state.board)
    if self.mode == 'consultancy':
      return jnp.where(image_game.consultant_margin(state.game, logits) > 0, 1.0, -1.0)[None]
    honest_wins = image_game.honest_margin(state.game, logits) > 0
    return jnp.where(honest_wins, 1.0, -1.0) * jnp.array([1.0, -1.0], jnp.float32)
