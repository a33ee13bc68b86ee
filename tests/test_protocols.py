"""Protocol outcomes on hand-built instances, and the theory each protocol must meet with an exact checker."""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from debate.agents import policies
from debate.agents.specs import AgentSpec
from debate.analysis.stats import wilson_interval
from debate.games import bisection, conformance
from debate.games import chain as chain_game
from debate.rollouts import chain as rollout
from debate.tasks import chain
from judges import chain_checkers as cc
from protocols import consultancy, debate, direct, open_consultancy

M = 7
# x: 3 -> 0 -> 0 -> 5 -> 0 (ops: 2x+1, 3x, x+5, 2x+4; all mod 7); true answer 0, wrong answer 6.
INSTANCE = chain.make_instance(3, [(2, 1), (3, 0), (1, 5), (2, 4)], modulus=M, wrong=6)
EXACT = cc.parse_checker('exact', M)
ALWAYS_WRONG = cc.parse_checker('noisy:1.0', M)  # inverts every verdict: a judge we can predict exactly


def _play_many(play, n=64, instance=INSTANCE):
  keys = jax.random.split(jax.random.key(0), n)
  return jax.jit(jax.vmap(lambda k: play(k, instance)))(keys)


def _debate(checker, judge_params, liar: AgentSpec, max_length=INSTANCE.max_length):
  """play(key, instance): chain debate (debate.games.chain) with the standard honest debater and `liar`."""
  game = chain_game.ChainDebate(checker, max_length)
  players = (chain_game.Midpoint(), rollout.policy(liar, {}))
  return lambda key, instance: debate.play(key, game, instance, players, judge_params)


def test_bisection_follows_the_claims_to_the_first_disputed_step():
  state = bisection.init(INSTANCE)
  assert (int(state.lo), int(state.hi), int(state.liar_hi)) == (0, 4, 6)
  state = bisection.step(state, jnp.int32(2), INSTANCE)  # x_2? truth 0, liar 2: disagree
  assert (int(state.lo), int(state.hi), int(state.liar_hi)) == (0, 2, 2)
  state = bisection.step(state, jnp.int32(0), INSTANCE)  # x_1? truth 0, liar 0: agree
  assert (int(state.lo), int(state.hi), int(state.liar_hi)) == (1, 2, 2) and bool(state.done)
  x, op, honest_y, liar_y = bisection.disputed_step(state, INSTANCE)
  assert (int(x), tuple(op.tolist()), int(honest_y), int(liar_y)) == (0, (3, 0), 0, 2)
  assert not bool(bisection.liar_wins(state, INSTANCE, EXACT, None))
  key = jax.random.key(0)
  assert bool(bisection.liar_wins(state, INSTANCE, ALWAYS_WRONG, key))
  assert bisection.step(state, jnp.int32(5), INSTANCE) == state  # finished games are absorbing


def test_bisection_on_a_length_that_is_not_a_power_of_two():
  instance = chain.make_instance(1, [(2, 0)] * 5, modulus=M, wrong=0)  # x = 1, 2, 4, 1, 2, 4
  state = bisection.init(instance)
  state = bisection.step(state, jnp.int32(4), instance)  # mid 2: agree
  assert (int(state.lo), int(state.hi)) == (2, 5)
  state = bisection.step(state, jnp.int32(6), instance)  # mid 3: disagree
  assert (int(state.lo), int(state.hi), int(state.liar_hi)) == (2, 3, 6) and bool(state.done)
  assert bisection.num_rounds(5) == 3 and bisection.num_rounds(1) == 0 and bisection.num_rounds(8) == 3
  for span in range(1, 70):  # the traced count agrees with the static one for every dispute length
    state = bisection.BisectionState(lo=jnp.int32(3), hi=jnp.int32(3 + span), liar_hi=jnp.int32(0))
    assert int(bisection.rounds_left(state)) == bisection.num_rounds(span), span


@pytest.mark.parametrize('liar', ['random', 'greedy', 'mcts', 'oracle'])
def test_debate_on_the_hand_built_instance(liar):
  spec = AgentSpec(liar, 8 if liar == 'mcts' else 0)
  exact, _ = _play_many(_debate(EXACT, None, spec))
  assert bool(exact['correct'].all())  # the honest debater always wins against an exact checker
  flipped, transcript = _play_many(_debate(ALWAYS_WRONG, jax.random.key(0), spec))
  assert not bool(flipped['correct'].any())  # ... and always loses against a judge that inverts verdicts
  np.testing.assert_array_equal(transcript['num_rounds'], 2)
  np.testing.assert_array_equal(transcript['step_input'], INSTANCE.trace[transcript['disputed_step'] - 1])


def test_lying_consultant_trace_has_exactly_one_wrong_step():
  for wrong_step in range(1, 5):
    claimed = consultancy.lying_trace(INSTANCE, jnp.int32(wrong_step), M)
    assert int(claimed[-1]) == 6 and int(claimed[0]) == 3
    checks = chain.apply_step(claimed[:-1], INSTANCE.ops, M) == claimed[1:]
    np.testing.assert_array_equal(~checks, np.arange(1, 5) == wrong_step)
    np.testing.assert_array_equal(claimed[:wrong_step], INSTANCE.trace[:wrong_step])


def test_consultancy_outcomes_on_the_hand_built_instance():
  full, transcript = _play_many(functools.partial(consultancy.play, checker=EXACT, judge_params=None, s=4))
  assert bool(full['correct'].all())  # checking every step always catches the lie
  assert 10 < int(full['consultant_honest'].sum()) < 54
  # A judge that inverts every verdict rejects every honest trace and, with two or more checks, catches
  # every one-error trace through a correct step that it wrongly rejects: right exactly when the consultant lies.
  flipped, _ = _play_many(
    functools.partial(consultancy.play, checker=ALWAYS_WRONG, judge_params=jax.random.key(0), s=2)
  )
  np.testing.assert_array_equal(flipped['correct'], ~flipped['consultant_honest'])
  none, _ = _play_many(functools.partial(consultancy.play, checker=EXACT, judge_params=None, s=0))
  np.testing.assert_array_equal(none['correct'], none['consultant_honest'])  # no checks: accept every claim


def test_direct_outcomes_on_the_hand_built_instance():
  affordable, transcript = _play_many(functools.partial(direct.play, checker=EXACT, judge_params=None, s=4))
  assert bool(affordable['correct'].all())
  np.testing.assert_array_equal(transcript['judge_computed'], 0)
  blind, transcript = _play_many(functools.partial(direct.play, checker=EXACT, judge_params=None, s=3))
  assert bool(transcript['guessed'].all())
  assert 10 < int(blind['correct'].sum()) < 54


def _accuracy_on_grid(arm_spec, lengths, s=2, games=2000):
  arm = rollout.parse_arm(arm_spec, s)
  results = {}
  for length in lengths:
    outcome, _ = rollout.run_games(
      arm, cc.parse_checker('exact', 17), None, length=length, seed=1, num_games=games, batch_size=games, max_length=16
    )
    results[length] = int(outcome['correct'].sum())
  return results


def _consistent(correct, games, p):
  low, high = wilson_interval(correct, games, z=3.29)  # 99.9%: a fixed-seed check, not a flaky one
  return low <= p <= high


@pytest.mark.parametrize('liar', ['debate/random', 'debate/greedy', 'debate/mcts:4', 'debate/oracle'])
def test_theory_debate_with_an_exact_checker_is_always_right(liar):
  for length, correct in _accuracy_on_grid(liar, [1, 2, 3, 5, 8, 13], games=500).items():
    assert correct == 500, (liar, length)


def test_theory_consultancy_matches_one_half_plus_half_s_over_T():
  for length, correct in _accuracy_on_grid('consultancy', [1, 2, 3, 6, 16]).items():
    expected = 0.5 + 0.5 * min(1.0, 2 / length)
    assert _consistent(correct, 2000, expected), (length, correct / 2000, expected)


def test_theory_direct_is_exact_within_budget_and_chance_beyond():
  results = _accuracy_on_grid('direct', [1, 2, 3, 9])
  assert results[1] == results[2] == 2000
  assert _consistent(results[3], 2000, 0.5) and _consistent(results[9], 2000, 0.5)


def _liar_win_table(instance, checker):
  """params -> {(disputed step, liar claim): whether the judge errs} over every dispute a liar can reach.

  The reachable disputes are enumerated once by playing every sequence of claims through the bisection;
  the judge's verdicts on all of them are then one jitted call per judge params.
  """
  reachable = {}
  rounds = bisection.num_rounds(int(instance.length))
  for claims in itertools.product(range(checker.modulus), repeat=rounds):
    state = bisection.init(instance)
    for claim in claims:
      state = bisection.step(state, jnp.int32(claim), instance)
    reachable.setdefault((int(state.hi), int(state.liar_hi)), state)
  disputes = list(reachable)
  states = jax.tree.map(lambda *leaves: jnp.stack(leaves), *reachable.values())
  verdicts = jax.jit(
    lambda params: jax.vmap(lambda state: bisection.liar_wins(state, instance, checker, params))(states)
  )
  return lambda params: dict(zip(disputes, np.asarray(verdicts(params)).tolist()))


def test_mcts_liar_finds_the_single_step_the_judge_gets_wrong():
  m = 5
  instance = chain.make_instance(2, [(2, 1), (3, 3), (4, 0), (1, 2)], modulus=m, wrong=0)
  checker = cc.parse_checker('noisy:0.05', m)
  win_table = _liar_win_table(instance, checker)
  for seed in range(200):  # a judge seed whose only exploitable error is one reachable (step, claim)
    params = jax.random.key(seed)
    table = win_table(params)
    if sum(table.values()) == 1:
      break
  else:
    pytest.fail('no judge seed with exactly one exploitable step')
  assert len(table) == 13  # steps 1..3 with any of 4 false claims, plus step 4 with the wrong answer

  def win_rate(spec):
    outcome, _ = _play_many(_debate(checker, params, spec, instance.max_length), n=100, instance=instance)
    return 1.0 - float(outcome['correct'].mean())

  assert win_rate(AgentSpec('mcts', 64)) >= 0.95
  assert win_rate(AgentSpec('random')) <= 0.3
  assert win_rate(AgentSpec('oracle')) == 1.0


def test_oracle_liar_wins_exactly_when_some_reachable_step_is_exploitable():
  m = 5
  instance = chain.make_instance(2, [(2, 1), (3, 3), (4, 0), (1, 2), (2, 2)], modulus=m, wrong=1)
  checker = cc.parse_checker('noisy:0.04', m)
  oracle = AgentSpec('oracle')
  play = jax.jit(lambda params: _debate(checker, params, oracle, instance.max_length)(jax.random.key(0), instance))
  outcomes = []
  win_table = _liar_win_table(instance, checker)
  for seed in range(24):
    params = jax.random.key(seed)
    table = win_table(params)
    outcome, transcript = play(params)
    assert bool(outcome['correct']) == (not any(table.values())), seed
    if not outcome['correct']:  # it reached the step it planned, with the claim it planned
      assert table[(int(transcript['disputed_step']), int(transcript['liar_output']))]
    outcomes.append(bool(outcome['correct']))
  assert 0 < sum(outcomes) < len(outcomes)  # the seeds cover both cases


@pytest.mark.parametrize('consultant', ['consultancy/search:3', 'consultancy/oracle'])
def test_theory_consultancy_with_an_exact_checker_does_not_depend_on_where_the_lie_is(consultant):
  for length, correct in _accuracy_on_grid(consultant, [1, 3, 6, 16]).items():
    expected = 0.5 + 0.5 * min(1.0, 2 / length)
    assert _consistent(correct, 2000, expected), (consultant, length, correct / 2000, expected)


def test_searching_consultants_put_the_wrong_step_where_the_judge_scores_it_highest():
  m = 5
  instance = chain.make_instance(2, [(2, 1), (3, 3), (4, 0), (1, 2), (2, 2)], modulus=m, wrong=1)
  checker = cc.parse_checker('noisy:0.3', m)
  back = consultancy.back_trace(instance, m)
  keys = jax.random.split(jax.random.key(0), 40)

  def wrong_steps_for(spec):
    """One compile per consultant; the judge's params (a noisy checker's key) are an argument."""

    @jax.jit
    def play_all(params):
      return jax.vmap(
        lambda key: consultancy.play(key, instance, checker=checker, judge_params=params, s=1, liar=AgentSpec(*spec))
      )(keys)

    def wrong_steps(params):
      outcome, transcript = play_all(params)
      return np.asarray(transcript['wrong_step'])[~np.asarray(outcome['consultant_honest'])]

    return wrong_steps

  oracle, search_all, random, search_two = (
    wrong_steps_for(spec) for spec in (('oracle',), ('search', 5), ('random',), ('search', 2))
  )
  for seed in range(6):
    params = jax.random.key(seed)
    scores = [
      float(cc.step_score(checker, params, instance.trace[t - 1], instance.ops[t - 1], back[t])) for t in range(1, 6)
    ]
    best = int(np.argmax(scores)) + 1
    np.testing.assert_array_equal(oracle(params), best)
    np.testing.assert_array_equal(search_all(params), best)  # trying every step = the oracle
    assert len(set(random(params).tolist())) > 1
    chosen = search_two(params)  # the better of two distinct random steps: never the worst one
    assert all(scores[t - 1] > min(scores) for t in chosen)


def test_open_consultancy_acceptance_probabilities_by_hand():
  lie = consultancy.lying_trace(INSTANCE, jnp.int32(3), M)  # one wrong step of T = 4
  # Exact judge: the lie survives 2 of 4 checks iff both miss step 3: C(3, 2) / C(4, 2) = 1/2.
  assert float(open_consultancy.acceptance_probability(lie, INSTANCE, EXACT, None, 2)) == pytest.approx(0.5)
  assert float(open_consultancy.acceptance_probability(INSTANCE.trace, INSTANCE, EXACT, None, 2)) == 1.0
  assert float(open_consultancy.acceptance_probability(lie, INSTANCE, EXACT, None, 9)) == 0.0  # s > T
  # A judge that inverts every verdict rejects the 3 correct steps: only 1 check on step 3 passes, 1/4.
  assert float(
    open_consultancy.acceptance_probability(lie, INSTANCE, ALWAYS_WRONG, jax.random.key(0), 1)
  ) == pytest.approx(0.25)


def test_theory_open_consultancy():
  # Exact checker: truth is always more persuasive, so the consultant never lies and the judge is never wrong.
  for consultant in ('open_consultancy', 'open_consultancy/oracle'):
    for length, correct in _accuracy_on_grid(consultant, [1, 3, 6, 16], games=500).items():
      assert correct == 500, (consultant, length)
  # A judge that inverts every verdict, s = 1: the lie (one step it accepts) beats the truth (none), and the
  # judge is fooled only when its one check lands on that step: accuracy 1 - 1/T.
  arm = rollout.parse_arm('open_consultancy', 1)
  checker = cc.parse_checker('noisy:1.0', 17)
  for length in (1, 4, 16):
    outcome, _ = rollout.run_games(
      arm, checker, jax.random.key(0), length=length, seed=2, num_games=2000, batch_size=2000, max_length=16
    )
    assert not outcome['consultant_honest'].any()
    assert _consistent(int(outcome['correct'].sum()), 2000, 1 - 1 / length), length


def test_theory_open_debate():
  # Exact checker: no lie can win, so the protagonist argues the truth and the judge is always right.
  for protagonist in ('open_debate/oracle', 'open_debate/mcts:4'):
    arm = rollout.parse_arm(protagonist, 0)
    outcome, _ = rollout.run_games(arm, EXACT, None, length=6, seed=0, num_games=200, batch_size=200)
    assert outcome['correct'].all() and outcome['protagonist_honest'].all(), protagonist
  # The oracle knows whether a lie wins: it lies in exactly the games that the lie wins, and since both
  # sides are equally strong the judge is right exactly as often as in assigned debate, game by game.
  checker = cc.parse_checker('noisy:0.05', 17)
  params = jax.random.key(3)
  run = lambda spec: rollout.run_games(
    rollout.parse_arm(spec, 0), checker, params, length=6, seed=0, num_games=400, batch_size=400
  )[0]
  open_outcome, assigned = run('open_debate/oracle'), run('debate/oracle')
  np.testing.assert_array_equal(open_outcome['correct'], assigned['correct'])
  np.testing.assert_array_equal(open_outcome['protagonist_honest'], open_outcome['correct'])
  assert 0 < open_outcome['correct'].mean() < 1


@pytest.mark.parametrize('honest_splits', [False, True])
def test_api(honest_splits):
  checker = cc.parse_checker('noisy:0.3', 5)
  game = chain_game.ChainDebate(checker, max_length=8, honest_splits=honest_splits)
  instance = chain.sample_instance(jax.random.key(3), 6, 5, 8)
  conformance.api_test(game, instance, jax.random.key(0), cc.init_params(checker, jax.random.key(4)), network=(8, 1))


def test_theory_the_split_choice_game_with_an_exact_checker_is_always_right():
  """Known theory, in the split-choice game too: with an exact step checker no liar beats the honest
  debater, whatever either plays (the standard game: test_theory_debate_with_an_exact_checker_...)."""
  game = chain_game.ChainDebate(EXACT, 8, honest_splits=True)
  instances = jax.vmap(lambda k, t: chain.sample_instance(k, t, M, 8))(
    jax.random.split(jax.random.key(7), 16), jnp.arange(16) % 8 + 1
  )
  keys = jax.random.split(jax.random.key(8), 16)
  for players in (
    (chain_game.Midpoint(), policies.MCTS(6)),
    (policies.Random(), policies.Greedy()),
    (policies.MCTS(6), policies.Random()),
  ):
    outcome, _ = jax.jit(jax.vmap(lambda k, i, p=players: debate.play(k, game, i, p, None)))(keys, instances)
    assert bool(outcome['correct'].all()), players


def test_the_oracle_plans_once_and_beats_a_judge_that_inverts_every_verdict():
  checker = cc.parse_checker('noisy:1.0', 5)
  game = chain_game.ChainDebate(checker, 8)
  instance = chain.sample_instance(jax.random.key(3), 6, 5, 8)
  outcome, transcript = debate.play(
    jax.random.key(0), game, instance, (chain_game.Midpoint(), chain_game.OracleLiar()), jax.random.key(1)
  )
  assert not bool(outcome['correct']) and int(transcript['num_rounds']) == 3
