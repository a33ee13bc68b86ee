"""Writers shared by the reports: Markdown, LaTeX (booktabs) and CSV tables, and matplotlib figures.

The callers format the cells; the table functions only lay them out. LaTeX cells must already be LaTeX
(see :func:`latex_escape`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from typing import Any

from debate.experiments.runfiles import text_writer

EXTENSIONS = {'markdown': 'md', 'latex': 'tex', 'csv': 'csv'}

_LATEX_SPECIALS = {
  '\\': r'\textbackslash{}',
  '&': r'\&',
  '%': r'\%',
  '$': r'\$',
  '#': r'\#',
  '_': r'\_',
  '{': r'\{',
  '}': r'\}',
  '~': r'\textasciitilde{}',
  '^': r'\textasciicircum{}',
}


def latex_escape(text: str) -> str:
  return ''.join(_LATEX_SPECIALS.get(char, char) for char in text)


def check_fmt(fmt: str) -> None:
  if fmt not in EXTENSIONS:
    raise ValueError(f"unknown table format {fmt!r}; expected 'markdown', 'latex' or 'csv'")


def percent(value: float, interval: Sequence[float] | None = None, *, sign: str = '') -> str:
  """A proportion and its interval in percent, ``97.3 [96.5, 97.9]`` (``sign='+'``: signed); the value
  alone when the interval is None or has a nan."""
  text = f'{100 * value:{sign}.1f}'
  if interval is None or any(math.isnan(v) for v in interval):
    return text
  return f'{text} [{100 * interval[0]:{sign}.1f}, {100 * interval[1]:{sign}.1f}]'


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]], right: set[int], caption: str) -> str:
  """A Markdown table (columns in ``right`` right-aligned, '|' escaped), a blank line, the caption."""
  body = [[c.replace('|', r'\|') for c in line] for line in body]
  widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

  def line(cells):
    return (
      '| ' + ' | '.join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))) + ' |'
    )

  rule = '|' + '|'.join('-' * (w + 1) + ':' if i in right else ':' + '-' * (w + 1) for i, w in enumerate(widths)) + '|'
  return '\n'.join([line(header), rule, *(line(b) for b in body), '', caption]) + '\n'


def latex_table(
  header: Sequence[str],
  body: Sequence[Sequence[str]],
  align: str,
  caption: str,
  label: str,
  groups: Sequence[Any] | None = None,
  *,
  between: str = r'\midrule',
  wide: bool = False,
) -> str:
  """A booktabs table; cells are LaTeX already. ``between`` separates rows whose ``groups`` differ; ``wide``: a
  ``table*`` scaled to the text width."""
  env = 'table*' if wide else 'table'
  lines = [
    rf'\begin{{{env}}}[t]',
    r'\centering',
    r'\small',
    rf'\caption{{{caption}}}',
    rf'\label{{{label}}}',
    *([r'\resizebox{\textwidth}{!}{%'] if wide else []),
    rf'\begin{{tabular}}{{{align}}}',
    r'\toprule',
    ' & '.join(header) + r' \\',
  ]
  for i, cells in enumerate(body):
    if i == 0 or (groups is not None and groups[i] != groups[i - 1]):
      lines.append(between if i else r'\midrule')
    lines.append(' & '.join(cells) + r' \\')
  lines += [r'\bottomrule', r'\end{tabular}' + ('}' if wide else ''), rf'\end{{{env}}}']
  return '\n'.join(lines) + '\n'


def csv_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
  """CSV text ('\\n' line ends): the header, then one line per row."""
  buffer = io.StringIO()
  csv.writer(buffer, lineterminator='\n').writerows([header, *rows])
  return buffer.getvalue()


def table_writers(stem: str, render: Callable[[str], str]) -> dict[str, Callable[[str], None]]:
  """{stem.md, stem.tex, stem.csv: a `runfiles.write_files` writer of ``render(fmt)``}, rendered now."""
  return {f'{stem}.{ext}': text_writer(render(fmt)) for fmt, ext in EXTENSIONS.items()}


def new_figure(width: float, height: float):
  """A matplotlib Figure (constrained layout) on the Agg canvas: no pyplot, no global state."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  fig = Figure(figsize=(width, height), layout='constrained')
  FigureCanvasAgg(fig)
  return fig


def save_figure(fig, path: str) -> None:
  """Saves a PDF if ``path`` ends in .pdf, else a PNG at 150 dpi."""
  fig.savefig(path, dpi=150, format='pdf' if path.lower().endswith('.pdf') else 'png')


def figure_writers(stem: str, save: Callable[[str], None]) -> dict[str, Callable[[str], None]]:
  return {f'{stem}.png': save, f'{stem}.pdf': save}
