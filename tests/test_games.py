"""The game interface (debate/games): one conformance test run on every game, and equivalence with the
existing chain and image protocols."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from debate.agents import chain as agents
from debate.games import chain as chain_game
from debate.games import example, images, play
from debate.games import pixels as image_game
from debate.tasks import chain
from judges import chain_checkers, image_judges
from protocols import debate as chain_debate
from protocols import images as image_protocols

NUM_GAMES = 8


def _shapes(tree):
  return jax.tree.map(lambda a: (a.shape, a.dtype), jax.eval_shape(lambda: tree))


def api_test(game, instance, key, judge_params):
  """The conformance test every game passes (see debate/games/__init__.py)."""
  init_key, play_key, step_key = jax.random.split(key, 3)
  state = jax.jit(game.init)(init_key, instance)
  legal = jax.jit(game.legal_actions)(state)
  assert legal.shape == (game.num_actions,) and legal.dtype == jnp.bool_
  player = jax.jit(game.current_player)(state)
  assert player.shape == () and player.dtype == jnp.int32 and 0 <= int(player) < game.num_players
  assert jax.jit(game.terminal)(state).dtype == jnp.bool_
  jax.jit(game.judge_view)(state)
  verdict = jax.jit(game.verdict)(judge_params, state)
  assert verdict.shape == (game.num_players,) and verdict.dtype == jnp.float32

  # The state's structure, shapes and dtypes are static: a step (legal or not) never changes them.
  step = jax.jit(game.step)
  action = play.Random()(step_key, game, state, judge_params)
  assert _shapes(step(state, action)) == _shapes(state)

  # Illegal actions are no-ops: out of range, not legal, or in a finished game.
  for bad in [-1, game.num_actions] + [int(a) for a in np.flatnonzero(~np.asarray(legal))[:2]]:
    assert jax.tree.all(jax.tree.map(jnp.array_equal, step(state, bad), state)), bad

  # Random play under jit and vmap: every game ends within max_moves, with verdicts in range.
  policies = (play.Random(),) * game.num_players
  run = jax.jit(functools.partial(play.play, game, policies=policies))
  keys = jax.random.split(play_key, NUM_GAMES)
  instances = jax.tree.map(lambda a: jnp.broadcast_to(a, (NUM_GAMES,) + a.shape), instance)
  batch = jax.jit(jax.vmap(lambda i, k: play.play(game, i, policies, k, judge_params)))(instances, keys)
  assert bool(jax.vmap(game.terminal)(batch.state).all())
  assert int(batch.num_moves.max()) <= game.max_moves
  assert batch.actions.shape == (NUM_GAMES, game.max_moves) and batch.payoff.shape == (NUM_GAMES, game.num_players)
  assert bool((jnp.abs(batch.payoff) <= 1).all())
  assert not bool(jax.vmap(game.legal_actions)(batch.state).any())
  final = jax.tree.map(lambda a: a[0], batch.state)
  assert jax.tree.all(jax.tree.map(jnp.array_equal, step(final, 0), final))

  # The same key gives the same game, batched or not.
  one = run(instance, key=keys[0], judge_params=judge_params)
  again = run(instance, key=keys[0], judge_params=judge_params)
  for got in (again, jax.tree.map(lambda a: a[0], batch)):
    assert jax.tree.all(jax.tree.map(jnp.array_equal, one, got))

  # Every move of random play was legal: the recorded moves replay to the same final state.
  replayed = state
  for t in range(int(one.num_moves)):
    assert bool(game.legal_actions(replayed)[one.actions[t]])
    replayed = step(replayed, one.actions[t])
  assert jax.tree.all(jax.tree.map(jnp.array_equal, replayed, one.state))


def _chain_case():
  checker = chain_checkers.parse_checker('noisy:0.3', 5)
  game = chain_game.ChainDebate(checker, max_length=8)
  instance = chain.sample_instance(jax.random.key(3), 6, 5, 8)
  return game, instance, chain_checkers.init_params(checker, jax.random.key(4))


IMAGE_SIZE, IMAGE_CLASSES = 6, 3


def _fake_image(key):
  """A [6, 6] float32 image with about a third of its pixels nonzero."""
  mask_key, value_key = jax.random.split(key)
  mask = jax.random.bernoulli(mask_key, 0.35, (IMAGE_SIZE, IMAGE_SIZE))
  return jnp.where(mask, jax.random.uniform(value_key, mask.shape, minval=0.1), 0.0)


def _image_case(mode, claim, honest_first=True):
  image = _fake_image(jax.random.key(5))
  actions = image_game.action_space_size(np.asarray(image)[None])
  judge = image_judges.ImageJudge('mlp', IMAGE_CLASSES)
  params = image_judges.init_judge(image_judges.make_judge('mlp', IMAGE_CLASSES), jax.random.key(6), image.shape)
  game = images.ImageDebate(judge, k=4, actions=actions, mode=mode, honest_first=honest_first)
  return game, image_game.make_game(image, 0, claim, actions), params


GAMES = {
  'chain': _chain_case,
  'images_precommit': lambda: _image_case('debate', 1),
  'images_no_precommit': lambda: _image_case('debate', -1, honest_first=False),
  'images_consultancy': lambda: _image_case('consultancy', 2),
  'bits': lambda: (example.BitsDebate(num_bits=6, k=3), jnp.array([1, 0, 1, 1, 0, 0], bool), jnp.float32(0.5)),
}


@pytest.mark.parametrize('name', list(GAMES))
def test_api(name):
  game, instance, judge_params = GAMES[name]()
  api_test(game, instance, jax.random.key(0), judge_params)


@pytest.mark.parametrize('first', [0, 1])
def test_searching_policies_find_the_winning_last_move(first):
  """One move left on bits [1, 0, 0] (judge bias 0): revealing bit 0 makes the judge say "yes", any other
  bit "no"; Greedy (exact on a last move) and MCTS find the mover's winning reveal."""
  game = example.BitsDebate(num_bits=3, k=1)
  state = game.init(jax.random.key(0), jnp.array([1, 0, 0], bool)).replace(first=jnp.int32(first))
  for policy in (play.Greedy(), play.MCTS(12)):
    moves = jax.jit(jax.vmap(lambda k, p=policy: p(k, game, state, jnp.float32(0.0))))(
      jax.random.split(jax.random.key(1), 4)
    )
    assert bool((moves == 0).all() if first == 0 else (moves != 0).all()), (policy, moves)


# ------------------------------------------------------------------------------------------------------------
# Chain: the generic game against the existing bisection debate (protocols/debate.py, which debate/rollouts/chain.py
# plays for every debate arm).

MODULUS = 7
HAND_BUILT = [  # (x0, ops, wrong)
  (3, [(2, 1)], 4),
  (1, [(3, 4), (5, 0), (2, 2)], 6),
  (0, [(1, 1)] * 5, 1),
  (6, [(4, 3), (6, 5), (2, 0), (3, 1), (5, 6), (1, 2), (2, 3), (4, 4)], 2),
]


def _padded(instance, max_length=8):
  """The instance padded to `max_length` steps with identity steps (as debate.tasks.chain pads)."""
  pad = max_length - instance.max_length
  ops = jnp.concatenate([instance.ops, jnp.tile(jnp.asarray(chain.IDENTITY_OP, jnp.int32), (pad, 1))])
  trace = jnp.concatenate([instance.trace, jnp.full((pad,), instance.answer)])
  return instance.replace(ops=ops, trace=trace)


def _instances():
  sampled = [chain.sample_instance(jax.random.key(i), 1 + i % 8, MODULUS, 8) for i in range(8)]
  hand_built = [_padded(chain.make_instance(x0, ops, MODULUS, wrong)) for x0, ops, wrong in HAND_BUILT]
  return jax.tree.map(lambda *xs: jnp.stack(xs), *hand_built, *sampled)


@functools.lru_cache(maxsize=None)
def _existing(checker, liar_kind):
  """The existing debate protocol, vmapped over games: (outcome, transcript)."""
  liar = agents.LiarSpec(liar_kind)
  return jax.jit(jax.vmap(lambda k, i, p: chain_debate.play(k, i, checker, p, liar=liar), in_axes=(0, 0, None)))


def _generic(game, liar, replay=False):
  """The generic game with a (forced) honest debater and `liar`, vmapped; with `replay`, the liar replays
  the claims of an existing transcript ([R] int32 per game)."""

  def one(key, instance, judge_params, claims):
    policy = (lambda k, g, s, p: claims[s.num_moves // 2]) if replay else liar
    return play.play(game, instance, (play.Random(), policy), key, judge_params)

  return jax.jit(jax.vmap(one, in_axes=(0, 0, None, 0)))


@pytest.mark.parametrize('judge', ['exact', 'noisy:0.3'])
def test_chain_replays_existing_random_liar(judge):
  """The random liar's claims of the existing debate, replayed in the generic game: same disputed step and
  verdict, game by game; against the exact checker the honest debater always wins."""
  checker = chain_checkers.parse_checker(judge, MODULUS)
  params = chain_checkers.init_params(checker, jax.random.key(1))
  instances = _instances()
  keys = jax.random.split(jax.random.key(2), len(instances.length))
  outcome, transcript = _existing(checker, 'random')(keys, instances, params)
  claims = transcript['rounds']['liar_claim']
  generic = _generic(chain_game.ChainDebate(checker, 8), None, replay=True)(keys, instances, params, claims)
  np.testing.assert_array_equal(generic.state.dispute.hi, outcome['disputed_step'])
  np.testing.assert_array_equal(generic.payoff[:, 0] > 0, outcome['correct'])
  np.testing.assert_array_equal(generic.num_moves, 2 * transcript['num_rounds'])
  np.testing.assert_array_equal(generic.actions[:, 1::2], claims)
  if judge == 'exact':
    assert bool(outcome['correct'].all())
  else:
    assert not bool(outcome['correct'].all())  # The noisy judge lets the random liar win some games.


@pytest.mark.parametrize('judge', ['exact', 'noisy:0.3'])
def test_chain_oracle_liar_matches_existing(judge):
  """The existing oracle liar as a policy of the generic game: the same verdicts and disputed steps."""
  checker = chain_checkers.parse_checker(judge, MODULUS)
  params = chain_checkers.init_params(checker, jax.random.key(1))
  instances = _instances()
  keys = jax.random.split(jax.random.key(2), len(instances.length))
  outcome, _ = _existing(checker, 'oracle')(keys, instances, params)
  claims = jnp.zeros((len(keys), 1), jnp.int32)  # Unused.
  generic = _generic(chain_game.ChainDebate(checker, 8), chain_game.OracleLiar())(keys, instances, params, claims)
  np.testing.assert_array_equal(generic.state.dispute.hi, outcome['disputed_step'])
  np.testing.assert_array_equal(generic.payoff[:, 0] > 0, outcome['correct'])
  assert bool(outcome['correct'].all()) == (judge == 'exact')


def test_chain_honest_always_wins_against_exact_checker():
  """Known theory: with an exact step checker no liar beats the honest debater, whatever it plays."""
  checker = chain_checkers.parse_checker('exact', MODULUS)
  instances = _instances()
  keys = jax.random.split(jax.random.key(7), len(instances.length))
  claims = jnp.zeros((len(keys), 1), jnp.int32)
  game = chain_game.ChainDebate(checker, 8)
  for liar in (play.Random(), play.Greedy(), chain_game.RandomLiar()):
    generic = _generic(game, liar)(keys, instances, None, claims)
    assert bool((generic.payoff[:, 0] == 1).all()), liar


def test_image_debate_replays_existing_protocol():
  """Random image debate of protocols/images.py, replayed in the generic game: the same verdicts."""
  image_keys = jax.random.split(jax.random.key(8), 4)
  for claim in (1, -1):
    game, _, params = _image_case('debate', claim)
    spec = agents.LiarSpec('random')
    games = jax.vmap(lambda k: image_game.make_game(_fake_image(k), 0, claim, game.actions))(image_keys)
    outcome, transcript = jax.vmap(
      lambda g, k: image_protocols.play_debate(
        k, g, game.judge, params, k=game.k, honest=spec, liar=spec, honest_first=True
      )
    )(games, image_keys)
    index = jax.vmap(jnp.searchsorted)(games.candidates, transcript['revealed'])
    generic = jax.vmap(
      lambda g, k, actions: play.play(game, g, (lambda k, gm, s, p: actions[s.board.num_revealed],) * 2, k, params)
    )(games, image_keys, index)
    np.testing.assert_array_equal(generic.state.board.revealed, transcript['revealed'])
    np.testing.assert_array_equal(generic.payoff[:, 0] > 0, outcome['correct'])
