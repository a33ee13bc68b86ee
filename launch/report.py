"""Tables, figures and Elo/scaling fits from the records of one or more finished runs (no games are played).

  python -m launch.report --workdirs=DIR1[,DIR2...] --out=DIR [--T=64] [--num_samples=1000] [--seed=0]
      [--bootstrap=auto|games|seeds]

Reads DIR/results.jsonl of every workdir and writes into --out (image records, from launch.run with
launch/configs/irving_mnist.py, give table2.md/.tex/.csv, precommit_vs_simulations, confusion and
sample_games figures instead: several workdirs, e.g. k = 4 and k = 6, make one Table 2):

  accuracy.md, accuracy.tex, accuracy.csv     judge accuracy per arm x judge x T (Wilson 95% CI, games)
  accuracy_vs_T.png, accuracy_vs_T.pdf        the same against chain length T

and, when debate cells with at least 2 judges and 2 liars exist at the chosen T (default: the largest such T):

  elo.md, elo.tex, elo.csv                    guard (judge + honest side) and houdini (liar) Elo per protocol,
                                              95% bootstrap CI, games
  accuracy_vs_elo.png, accuracy_vs_elo.pdf    judge accuracy per protocol against the liar's debate Elo
  houdini_elo_fit.png, houdini_elo_fit.pdf    liar Elo against log2 search budget, linear and double-ReLU fits
                                              (written when liars at 3 or more budgets are rated)
  general_axis.md, .tex, .csv                 every debate player on the shared general-strength axis (log2 FLOPs
                                              spent per game) with its Elo
  general_fit.md, .tex, .csv, .png, .pdf      guard and houdini domain Elo against that axis: line vs double ReLU
                                              (BIC), slopes with bootstrap CIs
  nso.md, .tex, .csv, .png, .pdf              nested scalable oversight from those fits: success and best n per gap
  accuracy_vs_strength.md, .tex, .csv         logistic accuracy against the judge-liar gap (judges pooled) and
                                              against judge strength (per liar), per protocol, with CIs
  accuracy_vs_judge.png, .pdf                 accuracy against judge strength, one line per liar
  accuracy_vs_gap.png, .pdf                   accuracy against the judge-liar gap with the pooled fit
  scaling.json                                every fitted number (ratings, accuracy points, logistic slopes, fits)

Image records of a ladder (launch/configs/irving_mnist.py:ladder_k6_cpu and friends: one run per judge, each judge
against liars of several strengths) enter the same tournament: a guard is judge + honest debater, a houdini the
liar by strength name (random, greedy, search:B for mcts:B), both first players pooled, and T holds the pixels k
(debate/tournament/pooling.py `tournament_records`). Chain and image workdirs are best reported separately, since
a chain length T and a pixel count k share that axis.

Workdirs where people judged games in the browser (launch.judge_ui: DIR/human_verdicts.jsonl) also give
human_judges.md, .tex, .csv: each human judge and all humans pooled as judge rows beside the model judge, per cell
(accuracy with Wilson 95% intervals and games, the model judge's accuracy on the same games, agreement with it).

Records of the text experiment (task 'text', launch/configs/text.py) give its own files instead (debate/reports/text.py):
text_accuracy, text_by_hops, text_verification, text_open (.md/.tex/.csv) and text_accuracy_vs_strength.png/.pdf;
where debaters play each other in both roles, text_elo (.md/.tex/.csv/.json: each debater's Elo in front of each
judge) and text_accuracy_vs_elo_JUDGE_kK.png/.pdf (judge accuracy in debate and consultancy against that Elo).

Records of the rrm experiment (protocol 'rrm') get their own files instead: rrm_table.md, .tex, .csv (per level,
RRM vs baseline, with CIs and counts) and rrm_levels.png, .pdf (accuracy and hacking gap against level).

The general-axis outputs need learned judges (their parameter count sets their place) and at least three placed
guards and houdinis; without them a note says what is missing and the other outputs are still written.

Seeds of the same cell are pooled (games and correct summed) for every point estimate. The intervals on everything
that depends on the judges (Elo, accuracy slopes, guard/houdini fits, NSO, accuracy against strength) come from a
bootstrap: --bootstrap=seeds resamples the seeds with replacement (each seed trains its judges anew), then the games
within each drawn seed, so they include the between-seed variation; --bootstrap=games redraws the pooled games only.
The default (auto) is seeds when the tournament's records hold at least 2 seeds that all play the same cells, else
games; the captions, the notes and scaling.json ("bootstrap") say which was used. Per-cell accuracies keep their
Wilson intervals (games only). Records of different workdirs that share a cell id
and hold the same counts are one measurement and are counted once; if any shared cell differs, every judge is
prefixed with its workdir's basename (`run2/learned:64`) so the workdirs' results stay apart.
"""

from __future__ import annotations

import math
import os
import sys
import warnings

from absl import app, flags

from debate.analysis import stats
from debate.experiments import runfiles
from debate.reports import chain as report
from debate.reports import rrm as rrm_report
from debate.reports.tables import figure_writers, table_writers
from debate.tournament.elo import default_anchor, guard_houdini_matrix, rate, ratings_json
from debate.tournament.figures import (
  accuracy_vs_elo_figure,
  accuracy_vs_gap_figure,
  accuracy_vs_judge_figure,
  general_fit_figure,
  houdini_elo_fit_figure,
  nso_figure,
)
from debate.tournament.fitting import (
  accuracy_slopes,
  accuracy_vs_elo,
  accuracy_vs_strength,
  general_nso_curve,
  general_scaling_fits,
  houdini_scaling_fit,
  strength_fits,
)
from debate.tournament.placement import general_axis, image_axis, tournament_modulus
from debate.tournament.pooling import (
  agent_of,
  check_seed_bootstrap,
  elo_ready_Ts,
  liar_records,
  merge_sources,
  pool_records,
  record_seeds,
  tournament_records,
)
from debate.tournament.tables import dumps, elo_table, general_axis_table, general_fit_table, nso_table, strength_table
from launch.cli import fail, parse_flags

_WORKDIRS = flags.DEFINE_list('workdirs', None, 'Comma-separated workdirs of finished runs (each holds results.jsonl).')
_OUT = flags.DEFINE_string('out', None, 'Directory for the tables, figures and scaling.json.')
_T = flags.DEFINE_integer(
  'T',
  None,
  'Chain length (pixels k for image ladders) of the Elo tournament (default: the '
  'largest T at which debate has at least 2 judges and 2 liars).',
)
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', 1000, 'Bootstrap samples for Elo and logistic-slope CIs.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the bootstrap.')
_BOOTSTRAP = flags.DEFINE_enum(
  'bootstrap',
  'auto',
  ['auto', 'games', 'seeds'],
  'How the bootstrap resamples: seeds (seeds with replacement, then games within each: includes the '
  'between-seed variation of judges trained anew), games (the pooled games only), or auto (seeds when the '
  f'records hold at least {stats.MIN_SEEDS_FOR_SEED_BOOTSTRAP} seeds that play the same cells, else games).',
)


def _or_fail(what: str, errors, fn, *args, **kwargs):
  """``fn(*args, **kwargs)``, or exit with status 2 and ``error: WHAT: the exception`` on one of ``errors``."""
  try:
    return fn(*args, **kwargs)
  except errors as e:
    fail(f'{what}: {e}')


def _load_sources(workdirs: list[str]) -> list[tuple[str, list[dict]]]:
  sources = []
  for workdir in workdirs:
    if not os.path.isdir(workdir):
      fail(f'--workdirs: {workdir} is not a directory')
    path = os.path.join(workdir, 'results.jsonl')
    if not os.path.isfile(path):
      fail(f'--workdirs: {workdir} has no results.jsonl (run an experiment there first)')
    records = _or_fail(f'--workdirs: cannot read {path}', (OSError, ValueError), runfiles.read_jsonl, path)
    if not records:
      fail(f'--workdirs: {path} holds no records')
    for number, record in enumerate(records, start=1):
      # Image records have their own schema (debate/experiments/images.py).
      missing = [k for k in ('cell', 'protocol', 'arm', 'judge', 'T', 'games', 'correct') if k not in record]
      if missing and record.get('task') not in ('images', 'text'):
        fail(f'--workdirs: {path}: record {number} lacks {", ".join(missing)}; is this a results.jsonl?')
    sources.append((os.path.basename(os.path.normpath(workdir)), records))
  return sources


def _choose_T(records: list[dict]) -> int | None:
  ready = elo_ready_Ts(records)
  if _T.value is None:
    return ready[-1] if ready else None
  if _T.value not in ready:
    at_t = liar_records(records, T=_T.value, protocol='debate')
    fail(
      f'--T={_T.value}: debate has {len({r["judge"] for r in at_t})} judge(s) and {len({agent_of(r) for r in at_t})} '
      f'liar(s) there; an Elo tournament needs at least 2 of each; T values that have them: '
      f'{", ".join(map(str, ready)) or "none"}'
    )
  return _T.value


def _choose_bootstrap(records: list[dict], T: int, notes: list[str]) -> dict:
  """The bootstrap of the tournament at T ('seeds' or 'games', from --bootstrap) and the seeds behind it."""
  seeds, problem = record_seeds(records, T=T), None
  try:
    check_seed_bootstrap(records, T=T)
  except ValueError as e:
    problem = str(e)
  kind = _BOOTSTRAP.value
  if kind == 'seeds' and problem is not None:
    fail(f'--bootstrap=seeds at T={T}: {problem} (--bootstrap=games)')
  if kind == 'auto':
    kind = 'games' if problem is not None else 'seeds'
    if problem is not None and len(seeds) > 1:
      notes.append(
        f'game-level bootstrap ({len(seeds)} seeds pooled; intervals leave out the between-seed variation): {problem}'
      )
  elif kind == 'games' and len(seeds) > 1:
    notes.append(
      f'game-level bootstrap (--bootstrap=games) over {len(seeds)} seeds pooled: the intervals leave out '
      'the between-seed variation of the judges'
    )
  if kind == 'seeds':
    k = len(seeds)
    few = (
      f'; with only {k} seeds it is still optimistic: redrawing {k} seeds keeps (1 - 1/{k}) of the '
      f'between-seed variance and gives {math.comb(2 * k - 1, k)} distinct seed sets '
      f'(at least {stats.FEW_SEEDS} seeds are better)'
      if k < stats.FEW_SEEDS
      else ''
    )
    notes.append(
      f'seed-level bootstrap over seeds {", ".join(map(str, seeds))}: each sample redraws the seeds with '
      f'replacement, then the games within each{few}'
    )
  return {'kind': kind, 'requested': _BOOTSTRAP.value, 'seeds': list(seeds)}


def _or_note(notes: list[str], what: str, fn, *args, **kwargs):
  """``fn(*args, **kwargs)``, or None with the note ``WHAT: the ValueError``."""
  try:
    return fn(*args, **kwargs)
  except ValueError as e:
    notes.append(f'{what}: {e}')


def _tournament(records: list[dict], T: int, notes: list[str], bootstrap: str) -> dict:
  """Ratings per protocol, accuracy vs debate Elo, fits; everything computed before anything is written."""
  protocols = list(dict.fromkeys(['debate'] + [r['protocol'] for r in liar_records(records, T=T)]))
  samples = {'num_samples': _NUM_SAMPLES.value, 'seed': _SEED.value, 'bootstrap': bootstrap}

  def rated(protocol):
    matchups = guard_houdini_matrix(records, protocol=protocol, T=T)
    return matchups, rate(matchups, anchor=default_anchor(matchups), **samples)

  matchups, debate = rated('debate')  # a ValueError here means no tournament
  others = [_or_note(notes, f'{p} at T={T} not rated', rated, p) for p in protocols[1:]]
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    rows = accuracy_vs_elo(records, debate, T=T, protocols=protocols)
  notes.extend(str(w.message) for w in caught)
  fit = _or_note(notes, 'no houdini Elo-vs-budget fit', houdini_scaling_fit, debate)
  if fit is not None and not fit['conclusive']:
    notes.append(f'houdini Elo-vs-budget fit: {fit["note"]}')
  result = {
    'ratings': [debate] + [other[1] for other in others if other is not None],
    'rows': rows,
    'slopes': accuracy_slopes(rows, **samples),
    'fit': fit,
    'axis': None,
    'general_fits': None,
    'nso': None,
    'strength_rows': [],
    'strength_fits': [],
  }
  # The general-strength axis, the guard/houdini fits on it, their NSO curve, accuracy against strength.
  axis = _or_note(
    notes,
    'no general-strength axis',
    lambda: (
      image_axis(matchups, records)
      if any(r.get('task') == 'images' for r in records)
      else general_axis(matchups, modulus=tournament_modulus(records, T=T))
    ),
  )
  if axis is None:
    return result
  rows = result['strength_rows'] = accuracy_vs_strength(records, axis, T=T, protocols=protocols)
  result.update(axis=axis, strength_fits=strength_fits(rows, **samples))
  notes.extend(
    f'{f["protocol"]} accuracy vs {f["fit"]}{" for " + f["agent"] if f["agent"] else ""} not fitted: {f["skipped"]}'
    for f in result['strength_fits']
    if 'skipped' in f
  )
  fits = _or_note(
    notes,
    'no guard/houdini fits on the general axis',
    general_scaling_fits,
    debate,
    axis,
    num_samples=_NUM_SAMPLES.value,
  )
  if fits is None:
    return result
  notes.extend(f'{role} Elo vs general strength: {fit["note"]}' for role, fit in fits.items() if not fit['conclusive'])
  start = min(p['x'] for p in fits['guard']['points'])
  top = max(p['x'] for p in fits['houdini']['points'])
  result['general_fits'] = fits
  result['nso'] = general_nso_curve(fits, range(0, max(1, math.ceil(top - start)) + 1), start=start)
  return result


def _fit_json(fit: dict | None) -> dict:
  if fit is None:
    return {'skipped': 'fewer than three liars with a search budget are rated'}
  return {k: v for k, v in fit.items() if k not in ('chosen_fit', 'samples')}


def _nso_table(result: dict, fmt: str) -> str:
  guard = result['general_fits']['guard']  # every debate game has one guard
  return nso_table(
    result['nso'], fmt=fmt, games=guard['games'], bootstrap=guard['bootstrap'], num_seeds=guard['num_seeds']
  )


def _tournament_files(result: dict) -> dict:
  """File name -> writer for the tournament's tables and figures that `result` supports."""
  ratings, rows, fits, sfits = (result[k] for k in ('ratings', 'strength_rows', 'general_fits', 'strength_fits'))
  files = {
    **table_writers('elo', lambda fmt: elo_table(ratings, fmt=fmt)),
    **figure_writers('accuracy_vs_elo', lambda tmp: accuracy_vs_elo_figure(result['rows'], ratings[0], tmp)),
  }
  if result['fit'] is not None:
    files.update(figure_writers('houdini_elo_fit', lambda tmp: houdini_elo_fit_figure(result['fit'], tmp)))
  if result['axis'] is not None:
    files.update(table_writers('general_axis', lambda fmt: general_axis_table(result['axis'], ratings[0], fmt=fmt)))
  if fits is not None:
    files.update(table_writers('general_fit', lambda fmt: general_fit_table(fits, fmt=fmt)))
    files.update(table_writers('nso', lambda fmt: _nso_table(result, fmt)))
  if sfits:
    files.update(table_writers('accuracy_vs_strength', lambda fmt: strength_table(sfits, fmt=fmt)))
  if fits is not None:
    files.update(figure_writers('general_fit', lambda tmp: general_fit_figure(fits, tmp)))
    files.update(figure_writers('nso', lambda tmp: nso_figure(result['nso'], tmp)))
  if rows:
    files.update(figure_writers('accuracy_vs_judge', lambda tmp: accuracy_vs_judge_figure(rows, sfits, tmp)))
    if any(math.isfinite(r['gap']) for r in rows):
      files.update(figure_writers('accuracy_vs_gap', lambda tmp: accuracy_vs_gap_figure(rows, sfits, tmp)))
  return files


def _human_reports(workdirs: list[str]) -> None:
  """human_judges.md/.tex/.csv when a workdir holds human verdicts (debate/reports/human.py)."""
  from debate.reports import human

  lines = _or_fail('--workdirs: human verdicts', (OSError, ValueError), human.read_verdicts, workdirs)
  if not lines:
    return
  rows = human.human_rows(lines)
  _or_fail(f'--out={_OUT.value}', OSError, runfiles.write_files, _OUT.value, human.human_files(rows))
  print(f'Human judges ({len(lines)} verdicts):\n\n{human.human_table(rows, "markdown")}')


def _image_reports(records: list[dict], workdirs: list[str]) -> None:
  from debate.reports import images as image_report

  transcripts = []
  for workdir in workdirs:
    path = os.path.join(workdir, 'transcripts.jsonl')
    if os.path.isfile(path):
      transcripts += [t for t in runfiles.read_jsonl(path) if 'image' in t]
  _or_fail(f'--out={_OUT.value}', OSError, os.makedirs, _OUT.value, exist_ok=True)
  _or_fail(
    f'--out={_OUT.value}', OSError, image_report.write_image_reports, records, _OUT.value, transcripts=transcripts
  )
  print(image_report.table2(records, fmt='markdown'))


def _text_reports(records: list[dict]) -> None:
  """The text experiment's tables and figure (debate/reports/text.py)."""
  from debate.reports import text as text_report

  _or_fail(f'--out={_OUT.value}', OSError, text_report.write_text_reports, records, _OUT.value)
  print(text_report.accuracy_table(records, fmt='markdown'))


def main(argv):
  if len(argv) > 1:
    fail(f'unexpected arguments {argv[1:]}')
  workdirs = [w for w in (_WORKDIRS.value or []) if w.strip()]
  if not workdirs:
    fail('--workdirs is required: one or more run directories, comma-separated')
  if not _OUT.value:
    fail('--out is required: the directory for tables and figures')
  if _NUM_SAMPLES.value < 1:
    fail(f'--num_samples must be a positive integer, got {_NUM_SAMPLES.value}')

  sources = _load_sources(workdirs)
  _human_reports(workdirs)
  text_records = [r for _, records in sources for r in records if r.get('task') == 'text']
  if text_records:  # Text debate: its own tables and figure.
    _text_reports(text_records)
  sources = [(name, [r for r in records if r.get('task') != 'text']) for name, records in sources]
  image_sources = [(name, [r for r in records if r.get('task') == 'images']) for name, records in sources]
  sources = [(name, [r for r in records if r.get('task') != 'images']) for name, records in sources]
  ladder_notes = []
  if any(records for _, records in image_sources):
    # Irving et al. 2018 on images: Table 2 and its figures (debate/reports/images.py) ...
    _image_reports([r for _, records in image_sources for r in records], workdirs)
    # ... and, where judges met several liars (an image ladder), the same tournament as on chains.
    for name, records in image_sources:
      ladder, ladder_notes_here = tournament_records(records)
      ladder_notes += ladder_notes_here
      if ladder:
        sources.append((name, ladder))
  sources, rrm_records = rrm_report.split_sources(sources)
  if rrm_records:  # Recursive reward modelling has its own per-level table and figure.
    print(_or_fail('--workdirs: rrm records', (OSError, ValueError), rrm_report.report_rrm, rrm_records, _OUT.value))
  if not any(records for _, records in sources):  # Only image or rrm records: their reports are written.
    return
  merged, notes = _or_fail('--workdirs', ValueError, merge_sources, sources)
  pooled = _or_fail('--workdirs', ValueError, pool_records, merged)
  notes = ladder_notes + notes
  T = _choose_T(merged)
  result = None
  if T is None:
    notes.append('no Elo tournament: no T at which debate has at least 2 judges and 2 liars')
  else:
    bootstrap = _choose_bootstrap(merged, T, notes)
    try:
      result = _tournament(merged, T, notes, bootstrap['kind'])
    except ValueError as e:
      notes.append(f'no Elo tournament at T={T}: {e}')

  out = _OUT.value
  _or_fail(f'--out={out}: cannot create it', OSError, os.makedirs, out, exist_ok=True)
  files = {
    **table_writers('accuracy', lambda fmt: report.accuracy_table(pooled, fmt=fmt)),
    **figure_writers('accuracy_vs_T', lambda tmp: report.accuracy_vs_T_figure(pooled, tmp)),
  }
  if result is not None:
    files.update(_tournament_files(result))
    fits = result['general_fits']
    scaling = {
      'T': T,
      'workdirs': [os.path.abspath(w) for w in workdirs],
      'notes': notes,
      'num_samples': _NUM_SAMPLES.value,
      'seed': _SEED.value,
      'bootstrap': bootstrap,
      'ratings': [ratings_json(r) for r in result['ratings']],
      'accuracy_vs_elo': result['rows'],
      'accuracy_vs_elo_logistic': result['slopes'],
      'houdini_elo_fit': _fit_json(result['fit']),
      'general_axis': result['axis'],  # the general-axis fits without their bootstrap refits (their CIs are kept)
      'general_fits': None if fits is None else {role: _fit_json(fit) for role, fit in fits.items()},
      'nso': result['nso'],
      'accuracy_vs_strength': result['strength_rows'],
      'accuracy_vs_strength_logistic': result['strength_fits'],
    }
    files['scaling.json'] = runfiles.text_writer(dumps(scaling))
  runfiles.write_files(out, files)

  print(f'read {len(merged)} records from {len(workdirs)} workdir(s); wrote to {out}: {", ".join(files)}')
  for note in notes:
    print(f'note: {note}')
  if result is not None:
    print(f'\nElo at T={T}:\n\n{elo_table(result["ratings"], fmt="markdown")}')
    fit = result['fit']
    if fit is not None:
      print(
        f'houdini Elo vs log2 budget: {fit["chosen"]} by BIC (delta BIC linear - double ReLU = '
        f'{fit["delta_bic"]:.1f}{"" if fit["conclusive"] else ", inconclusive"}); linear slope '
        f'{fit["linear"].slope:.1f} Elo per doubling'
      )
    if result['general_fits'] is not None:
      fit_md, nso_md = general_fit_table(result['general_fits'], fmt='markdown'), _nso_table(result, 'markdown')
      print(f'\nGuard and houdini Elo against general strength (log2 FLOPs per game):\n\n{fit_md}\n{nso_md}')
    if result['strength_fits']:
      print(strength_table(result['strength_fits'], fmt='markdown'))
  sys.stdout.flush()


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
