"""Plain-text table writers shared by the reports: Markdown, LaTeX (booktabs) and CSV.

The callers format the cells; these functions only lay them out. LaTeX cells must already be
LaTeX (see :func:`latex_escape`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

FORMATS = ('markdown', 'latex', 'csv')

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
  """Escapes LaTeX special characters in plain text."""
  return ''.join(_LATEX_SPECIALS.get(char, char) for char in text)


def check_fmt(fmt: str) -> None:
  """ValueError unless ``fmt`` is one of :data:`FORMATS`."""
  if fmt not in FORMATS:
    raise ValueError(f"unknown table format {fmt!r}; expected 'markdown', 'latex' or 'csv'")


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
) -> str:
  """A booktabs table; cells are LaTeX already. A rule separates rows whose ``groups`` differ."""
  lines = [
    r'\begin{table}[t]',
    r'\centering',
    r'\small',
    rf'\caption{{{caption}}}',
    rf'\label{{{label}}}',
    rf'\begin{{tabular}}{{{align}}}',
    r'\toprule',
    ' & '.join(header) + r' \\',
  ]
  previous = object()
  for i, cells in enumerate(body):
    group = groups[i] if groups is not None else None
    if i == 0 or group != previous:
      lines.append(r'\midrule')
    previous = group
    lines.append(' & '.join(cells) + r' \\')
  lines += [r'\bottomrule', r'\end{tabular}', r'\end{table}']
  return '\n'.join(lines) + '\n'


def csv_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
  """CSV text ('\\n' line ends): the header, then one line per row."""
  buffer = io.StringIO()
  writer = csv.writer(buffer, lineterminator='\n')
  writer.writerow(header)
  writer.writerows(rows)
  return buffer.getvalue()
