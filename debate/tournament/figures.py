"""Tournament figures (matplotlib ``Figure`` with ``FigureCanvasAgg``, as ``debate.reports.chain``).

Accuracy against houdini Elo, houdini Elo against search budget, both roles' Elo against the general
axis, nested scalable oversight, and accuracy against judge strength and the judge-liar gap. Each
saves PNG (150 dpi) or PDF by the path's extension.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from debate.analysis import stats
from debate.reports.tables import new_figure, save_figure
from debate.tournament.elo import DebaterRatings, Ratings
from debate.tournament.pooling import order_agents

# ----------------------------------------------------------------------------------------------
# Styles and helpers.

_PROTOCOL_STYLE = {'debate': ('-', 'o'), 'consultancy': ('--', 's')}
_OTHER_STYLES = ((':', '^'), ('-.', 'D'), ((0, (5, 1, 1, 1)), 'v'))


def _err(pts: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
  """[2, n] error bars: from each point's ``key`` down to its ci_low and up to its ci_high."""
  return np.array([[p[key] - p['ci_low'] for p in pts], [p['ci_high'] - p[key] for p in pts]])


def accuracy_vs_elo_figure(
  rows: Sequence[Mapping[str, Any]],
  ratings: Ratings | DebaterRatings,
  path: str,
  *,
  xlabel: str = 'Liar (houdini) Elo, measured in debate',
  title: str | None = None,
) -> None:
  """Judge accuracy against houdini debate Elo: one line per (protocol, judge).

  Colour: judge; line style and marker: protocol; vertical bars: Wilson 95% intervals; filled
  markers at houdinis rated from data, hollow ones at saturated (prior-rated) houdinis. The top
  axis names the houdinis at their Elo. ``xlabel`` and ``title`` (default: judge accuracy vs liar
  strength at T) name the axis and the figure, e.g. for debaters placed at their debater Elo. Saves
  PNG (150 dpi) or PDF by extension.
  """
  from matplotlib.lines import Line2D

  if not rows:
    raise ValueError('no accuracy-vs-Elo points to plot')
  protocols = list(dict.fromkeys(r['protocol'] for r in rows))
  judges = list(dict.fromkeys(r['judge'] for r in rows))
  colors = {j: f'C{i % 10}' for i, j in enumerate(judges)}
  others = [p for p in protocols if p not in _PROTOCOL_STYLE]
  styles = {p: _PROTOCOL_STYLE.get(p) or _OTHER_STYLES[others.index(p) % len(_OTHER_STYLES)] for p in protocols}

  fig = new_figure(8.4, 4.8)
  ax = fig.add_subplot()
  elos = [r['elo'] for r in rows]
  span = max(max(elos) - min(elos), 50.0)
  # Dodge the lines apart horizontally so that CI bars at one houdini overlap less.
  lines_keys = [(p, j) for p in protocols for j in judges if any(r['protocol'] == p and r['judge'] == j for r in rows)]
  # The whole spread stays within 1.5% of the axis, so points sit visibly at their houdini.
  step = 0.015 * span / max(len(lines_keys) - 1, 1)
  dodge = {key: (k - (len(lines_keys) - 1) / 2) * min(step, 0.004 * span) for k, key in enumerate(lines_keys)}
  for protocol, judge in lines_keys:
    pts = sorted((r for r in rows if r['protocol'] == protocol and r['judge'] == judge), key=lambda r: r['elo'])
    x = np.array([r['elo'] for r in pts]) + dodge[protocol, judge]
    y = np.array([r['accuracy'] for r in pts])
    (linestyle, marker), color = styles[protocol], colors[judge]
    ax.plot(x, y, linestyle=linestyle, color=color, linewidth=1.5, zorder=2)
    ax.errorbar(x, y, yerr=_err(pts, 'accuracy'), fmt='none', ecolor=color, elinewidth=1, capsize=3, zorder=2)
    for xi, yi, r in zip(x, y, pts):
      ax.plot(
        [xi],
        [yi],
        marker=marker,
        markersize=6,
        color=color,
        linestyle='none',
        markerfacecolor='white' if r['elo_saturated'] else color,
        zorder=3,
      )
  ax.axhline(0.5, color='0.5', linestyle=':', linewidth=1, zorder=1)
  ax.set(ylim=(-0.02, 1.04), xlim=(min(elos) - 0.06 * span, max(elos) + 0.06 * span))
  ax.set(xlabel=xlabel, ylabel='Judge accuracy')
  ax.grid(True, alpha=0.3)
  t_text = f' (T = {rows[0]["T"]})' if len({r['T'] for r in rows}) == 1 else ''
  ax.set_title(title or f'Judge accuracy vs liar strength{t_text}', fontsize='medium')

  # Houdini names at their Elo on a top axis; skip names that would collide with a neighbour.
  # Houdinis closer than ~3% of the axis share one tick ("greedy / search:16").
  top = ax.secondary_xaxis('top')
  groups: list[list[tuple[float, str]]] = []
  for elo, agent in sorted({(r['elo'], r['agent']) for r in rows}):
    if groups and elo - groups[-1][0][0] < 0.03 * span:
      groups[-1].append((elo, agent))
    else:
      groups.append([(elo, agent)])
  top.set_xticks(
    [float(np.mean([e for e, _ in g])) for g in groups],
    labels=[' / '.join(a for _, a in g) for g in groups],
    rotation=60,
    ha='left',
    rotation_mode='anchor',
    fontsize='small',
  )
  top.tick_params(axis='x', length=3)

  handles = [Line2D([], [], color=colors[j], linewidth=2, label=f'judge {j}') for j in judges]
  handles += [Line2D([], [], color='0.3', linestyle=styles[p][0], marker=styles[p][1], label=p) for p in protocols]
  if any(r['elo_saturated'] for r in rows):
    handles.append(
      Line2D(
        [],
        [],
        color='0.3',
        marker='o',
        markerfacecolor='white',
        linestyle='none',
        label='placed by the prior\n(every pairing a sweep)',
      )
    )
  handles.append(Line2D([], [], color='0.5', linestyle=':', label='chance'))
  fig.legend(handles=handles, loc='outside right center', frameon=False, fontsize='small')
  save_figure(fig, path)


def houdini_elo_fit_figure(fit: Mapping[str, Any], path: str) -> None:
  """Houdini domain Elo against log2 search budget with the linear and double-ReLU fits.

  Points carry their bootstrap CI bars (hollow: saturated houdini); the chosen model is drawn
  solid and labelled with its BIC, the other dashed. Saves PNG (150 dpi) or PDF by extension.
  """
  points = fit['points']
  x, y = np.array([p['log2_budget'] for p in points]), np.array([p['elo'] for p in points])
  fig = new_figure(7.2, 4.6)
  ax = fig.add_subplot()
  grid = np.linspace(x.min() - 0.25, x.max() + 0.25, 400)
  verdict = 'chosen by BIC' if fit.get('conclusive', True) else 'lower BIC; too few points'
  models = [('linear', 'linear'), ('double_relu', 'double ReLU')]
  for name, label in sorted(models, key=lambda m: m[0] != fit['chosen']):  # the chosen model first in the legend
    is_chosen = name == fit['chosen']
    ax.plot(
      grid,
      fit[name].predict(grid),
      color='C0' if is_chosen else 'C1',
      linestyle='-' if is_chosen else '--',
      linewidth=2.0 if is_chosen else 1.4,
      label=f'{label}, BIC = {fit[name].bic:.1f}' + (f' ({verdict})' if is_chosen else ''),
      zorder=2,
    )
  ax.errorbar(x, y, yerr=_err(points, 'elo'), fmt='none', ecolor='0.2', elinewidth=1, capsize=3, zorder=3)
  sat = np.array([p['saturated'] for p in points])
  ax.plot(
    x[~sat],
    y[~sat],
    'o',
    color='0.15',
    markersize=6,
    zorder=4,
    label=f'houdini Elo ({100 * float(fit.get("level", 0.95)):g}% bootstrap CI)',
  )
  if sat.any():
    ax.plot(
      x[sat],
      y[sat],
      'o',
      color='0.15',
      markerfacecolor='white',
      markersize=6,
      zorder=4,
      label='saturated (rated by prior)',
    )
  ticks = sorted({(p['log2_budget'], p['houdini']) for p in points})
  ax.set_xticks([t for t, _ in ticks], labels=[f'{t:g}\n{name}' for t, name in ticks], fontsize='small')
  ax.set(xlim=(grid[0], grid[-1]), xlabel='log2 search budget (random liar = budget 1)')
  ax.set_ylabel('Houdini domain Elo (debate)')
  where = f' at T = {fit["T"]}' if fit.get('T') is not None else ''
  excluded = f'; not placed: {", ".join(fit["excluded"])}' if fit.get('excluded') else ''
  ax.set_title(f'Liar Elo vs search budget{where}{excluded}', fontsize='medium')
  ax.grid(True, alpha=0.3)
  ax.legend(loc='best', fontsize='small', framealpha=0.9)
  save_figure(fig, path)


_ROLE_STYLE = {'guard': ('C0', 's', 'guards (judge + honest side)'), 'houdini': ('C3', 'o', 'houdinis (liars)')}


def general_fit_figure(fits: Mapping[str, Mapping[str, Any]], path: str) -> None:
  """Guard and houdini domain Elo against general strength, with the BIC-chosen fits.

  Points: Elo with bootstrap CI bars, named; lines: each role's chosen model, with the 95% band
  of its bootstrap refits; dotted horizontal lines: unplaced players (e.g. the oracle) at their
  Elo. Saves PNG (150 dpi) or PDF by extension.
  """
  fig = new_figure(8.0, 5.0)
  ax = fig.add_subplot()
  xs = [p['x'] for f in fits.values() for p in f['points']]
  grid = np.linspace(min(xs) - 0.5, max(xs) + 0.5, 300)
  for role in ('guard', 'houdini'):
    if role not in fits:
      continue
    fit, (color, marker, label) = fits[role], _ROLE_STYLE[role]
    pts = fit['points']
    own = np.linspace(min(p['x'] for p in pts) - 0.5, max(p['x'] for p in pts) + 0.5, 200)
    model = fit['chosen_fit']
    name = 'double ReLU' if fit['chosen'] == 'double_relu' else 'line'
    ax.plot(
      own,
      model.predict(own),
      color=color,
      linewidth=2,
      label=f'{role} fit: {name} by BIC, {model.slope:.0f} Elo/doubling'
      + ('' if fit['conclusive'] else ' (inconclusive)'),
    )
    if fit['samples']:  # the pointwise band of the bootstrap refits
      band = stats.percentiles([f.predict(own) for f in fit['samples']], float(fit.get('level', 0.95)), axis=0)
      ax.fill_between(own, *band, color=color, alpha=0.18, linewidth=0)
    x, y = np.array([p['x'] for p in pts]), np.array([p['elo'] for p in pts])
    ax.errorbar(
      x, y, yerr=_err(pts, 'elo'), fmt=marker, color=color, markersize=6, capsize=3, elinewidth=1, label=label, zorder=3
    )
    for p in pts:
      ax.annotate(
        p['player'],
        (p['x'], p['elo']),
        textcoords='offset points',
        xytext=(5, -11 if role == 'guard' else 5),
        fontsize='x-small',
        color=color,
      )
    for p in fit.get('unplaced', []):
      ax.axhline(p['elo'], color=color, linestyle=':', linewidth=1)
      ax.annotate(
        f'{p["player"]} (not a budgeted search): {p["elo"]:.0f}',
        (grid[0], p['elo']),
        textcoords='offset points',
        xytext=(2, 3),
        fontsize='x-small',
        color=color,
      )
  ax.set(xlim=(grid[0], grid[-1]), xlabel='General strength: log2 FLOPs spent per debate game')
  ax.set_ylabel('Domain Elo in debate (95% bootstrap CI)')
  ax.set_title('Guard and houdini Elo against compute', fontsize='medium')
  ax.grid(True, alpha=0.3)
  ax.legend(loc='best', fontsize='small', framealpha=0.9)
  save_figure(fig, path)


def nso_figure(rows: Sequence[Mapping[str, Any]], path: str) -> None:
  """NSO success against the total gap (best n and one step, 95% bands) over the best n."""
  gap = np.array([r['gap'] for r in rows])
  fig = new_figure(7.2, 5.6)
  top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1.0])
  for key, label, style, color in (
    ('best_probability', 'best n steps', '-', 'C2'),
    ('one_step_probability', 'one step (n = 1)', '--', 'C1'),
  ):
    top.plot(gap, np.array([r[key] for r in rows]), linestyle=style, marker='o', markersize=3, color=color, label=label)
    if all(f'{key}_ci' in r for r in rows):
      ci = np.array([r[f'{key}_ci'] for r in rows])
      top.fill_between(gap, ci[:, 0], ci[:, 1], color=color, alpha=0.2, linewidth=0)
  top.set(ylim=(-0.02, 1.02), ylabel='P(oversight succeeds)')
  top.grid(True, alpha=0.3)
  top.legend(loc='best', fontsize='small', title='95% bootstrap bands', title_fontsize='small')
  start = rows[0]['start'] if rows else float('nan')
  top.set_title(
    f'Nested scalable oversight from the fitted curves (first guard at {start:.1f} log2 FLOPs)', fontsize='medium'
  )
  bottom.step(gap, np.array([r['best_n'] for r in rows]), where='mid', color='C2', label='best n')
  if all('best_n_ci' in r for r in rows):
    ci = np.array([r['best_n_ci'] for r in rows])
    bottom.fill_between(gap, ci[:, 0], ci[:, 1], step='mid', color='C2', alpha=0.2, linewidth=0, label='95% interval')
  bottom.set(ylabel='Best number of steps n', xlabel='Total general-strength gap (doublings of compute per game)')
  bottom.grid(True, alpha=0.3)
  bottom.legend(loc='upper left', fontsize='small')
  save_figure(fig, path)


def _protocol_panels(protocols: Sequence[str]):
  fig = new_figure(5.2 * len(protocols) + 1.8, 4.2)
  return fig, fig.subplots(1, len(protocols), sharey=True, squeeze=False)[0]


def _accuracy_points(ax, x, pts: Sequence[Mapping[str, Any]], color: str, label: str) -> None:
  """Accuracy of rows ``pts`` at x with their Wilson 95% bars."""
  ax.errorbar(
    x,
    [p['accuracy'] for p in pts],
    yerr=_err(pts, 'accuracy'),
    fmt='o',
    color=color,
    markersize=4,
    capsize=2,
    elinewidth=1,
    label=label,
  )


def _finish_panel(ax, protocol: str, xlabel: str) -> None:
  ax.axhline(0.5, color='0.5', linestyle=':', linewidth=1)
  ax.set(ylim=(-0.02, 1.04), xlabel=xlabel)
  ax.set_title(protocol, fontsize='medium')
  ax.grid(True, alpha=0.3)


def accuracy_vs_judge_figure(rows: Sequence[Mapping[str, Any]], fits: Sequence[Mapping[str, Any]], path: str) -> None:
  """Judge accuracy against judge strength, one panel per protocol, one line per liar.

  Points with Wilson 95% bars; curves: the per-liar logistic fits with their 95% bootstrap band.
  The top axis names the judges. Saves PNG (150 dpi) or PDF by extension.
  """
  if not rows:
    raise ValueError('no accuracy-vs-judge points to plot')
  protocols = list(dict.fromkeys(r['protocol'] for r in rows))
  agents = order_agents(r['agent'] for r in rows)
  colors = {a: f'C{i % 10}' for i, a in enumerate(agents)}
  curves = {(f['protocol'], f['agent']): f for f in fits if f['fit'] == 'judge' and 'skipped' not in f}
  fig, axes = _protocol_panels(protocols)
  for ax, protocol in zip(axes, protocols):
    for agent in agents:
      pts = sorted((r for r in rows if r['protocol'] == protocol and r['agent'] == agent), key=lambda r: r['judge_x'])
      if not pts:
        continue
      color = colors[agent]
      _accuracy_points(ax, np.array([p['judge_x'] for p in pts]), pts, color, agent)
      fit = curves.get((protocol, agent))
      if fit is not None:
        c = fit['curve']
        ax.plot(c['x'], c['accuracy'], color=color, linewidth=1.3)
        ax.fill_between(c['x'], c['ci_low'], c['ci_high'], color=color, alpha=0.15, linewidth=0)
    _finish_panel(ax, protocol, 'Judge strength: log2 FLOPs per verdict')
    judges = sorted({(r['judge_x'], r['judge']) for r in rows if r['protocol'] == protocol})
    top = ax.secondary_xaxis('top')
    top.set_xticks(
      [x for x, _ in judges],
      labels=[j for _, j in judges],
      rotation=45,
      ha='left',
      rotation_mode='anchor',
      fontsize='x-small',
    )
  axes[0].set_ylabel('Judge accuracy (Wilson 95% CI)')
  legend = {}  # label -> first handle, over the panels
  for ax in axes:
    for h, l in zip(*ax.get_legend_handles_labels()):
      legend.setdefault(l, h)
  fig.legend(
    list(legend.values()),
    list(legend),
    loc='outside right center',
    frameon=False,
    fontsize='small',
    title='liar',
    title_fontsize='small',
  )
  save_figure(fig, path)


def accuracy_vs_gap_figure(rows: Sequence[Mapping[str, Any]], fits: Sequence[Mapping[str, Any]], path: str) -> None:
  """Judge accuracy against the judge-liar gap, one panel per protocol, points coloured by judge.

  Points with Wilson 95% bars; curve: the logistic fit pooled over judges with its 95% bootstrap
  band. Saves PNG (150 dpi) or PDF by extension.
  """
  rows = [r for r in rows if math.isfinite(r['gap'])]
  if not rows:
    raise ValueError('no accuracy-vs-gap points to plot')
  protocols = list(dict.fromkeys(r['protocol'] for r in rows))
  judges = list(dict.fromkeys(r['judge'] for r in rows))
  colors = {j: f'C{i % 10}' for i, j in enumerate(judges)}
  pooled = {f['protocol']: f for f in fits if f['fit'] == 'gap' and 'skipped' not in f}
  fig, axes = _protocol_panels(protocols)
  for ax, protocol in zip(axes, protocols):
    fit = pooled.get(protocol)
    if fit is not None:
      c = fit['curve']
      ax.plot(
        c['x'],
        c['accuracy'],
        color='0.15',
        linewidth=1.8,
        label=f'logistic, judges pooled: b = {fit["b"]:.2f} / doubling',
      )
      ax.fill_between(
        c['x'], c['ci_low'], c['ci_high'], color='0.3', alpha=0.2, linewidth=0, label='95% bootstrap band'
      )
    for judge in judges:
      pts = [r for r in rows if r['protocol'] == protocol and r['judge'] == judge]
      if pts:
        _accuracy_points(ax, [p['gap'] for p in pts], pts, colors[judge], f'judge {judge}')
    _finish_panel(ax, protocol, 'Gap: liar minus judge general strength (doublings of compute)')
    ax.legend(loc='lower left', fontsize='x-small', framealpha=0.9)
  axes[0].set_ylabel('Judge accuracy (Wilson 95% CI)')
  save_figure(fig, path)
