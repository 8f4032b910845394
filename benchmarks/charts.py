"""Bar charts of the benchmark tables, drawn when the documentation site is built.

A chart is read from the Markdown table it stands beside (the n-th table of a page), so the
picture and the numbers cannot disagree: rerunning a benchmark and pasting its table
redraws the chart. `chart` returns an inline SVG (matplotlib, text kept as text).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the non-interactive backend

ROOT = Path(__file__).resolve().parent.parent


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table of `text`: its rows (the header first), each a list of cells.

    >>> tables("a\\n\\n| x | s |\\n|---|---:|\\n| one | 1.5 |\\n")
    [[['x', 's'], ['one', '1.5']]]
    """
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):  # the alignment row
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def _label(cell: str) -> str:
    """A table cell as plain text: no Markdown emphasis, code ticks or `&nbsp;`."""
    return re.sub(r"[*`]", "", cell.replace("&nbsp;", " ")).strip()


def chart(page: str, index: int, columns: tuple[int, ...] = (1,), *,
          unit: str | None = None) -> str:
    """The `index`-th table (from 0) of `page` (a path under docs/) as a bar chart of its
    `columns` (grouped bars when several), one group per row whose cells there are numbers;
    an inline SVG.

    Raises ValueError when the table lacks a column or has no numeric row.
    """
    rows = tables((ROOT / "docs" / page).read_text(encoding="utf-8"))[index]
    header, body = rows[0], rows[1:]
    if max(columns) >= len(header):
        raise ValueError(f"{page}: table {index} has no column {max(columns)}")
    numeric = [r for r in body if len(r) > max(columns)
               and all(re.fullmatch(r"[0-9.]+", r[c]) for c in columns)]
    if not numeric:
        raise ValueError(f"{page}: table {index} has no numbers in columns {columns}")
    plt.rcParams["svg.fonttype"] = "none"
    plt.rcParams["svg.hashsalt"] = "typedarr"  # the same SVG for the same table
    rows_down = list(reversed(numeric))  # barh draws from the bottom up
    height = 0.8 / len(columns)
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(numeric) * len(columns) + 1.0))
    top = 0.0
    for k, c in enumerate(columns):
        ys = [i + (len(columns) - 1 - k - (len(columns) - 1) / 2) * height
              for i in range(len(rows_down))]
        values = [float(r[c]) for r in rows_down]
        ax.barh(ys, values, height=height, label=_label(header[c]))
        for y, v in zip(ys, values, strict=True):
            ax.text(v, y, f" {v:g}", va="center", fontsize=8)
        top = max(top, *values)
    ax.set_yticks(range(len(rows_down)), [_label(r[0]) for r in rows_down])
    ax.set_xlabel(unit or _label(header[columns[0]]))
    ax.set_xlim(0, top * 1.18)
    ax.spines[["top", "right"]].set_visible(False)
    if len(columns) > 1:
        ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    plt.close(fig)
    svg = out.getvalue()
    return svg[svg.index("<svg"):]  # inline: without the XML prolog and doctype
