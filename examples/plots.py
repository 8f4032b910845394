"""Line plots of training curves, written to PNG files (matplotlib, without a screen).

matplotlib is an `examples` extra; it is imported only when a plot is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


def plot_curves(path: Path, series: Mapping[str, Sequence[float]], *, title: str,
                ylabel: str, xlabel: str = "epoch", percent: bool = False,
                markers: bool = True) -> Path:
    """One line per named series against 1, 2, 3, ...; written to `path` (PNG) and returned.

    `percent` shows values in [0, 1] as percentages, as seed 000's accuracy figure does;
    `markers` marks each point (off for curves of hundreds of steps, where marks hide the
    line).
    """
    import matplotlib

    matplotlib.use("Agg")  # no display: render straight to the file
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    try:
        for name, values in series.items():
            ys = [100.0 * v for v in values] if percent else list(values)
            ax.plot(range(1, len(ys) + 1), ys, marker="o" if markers else None, markersize=3,
                    label=name)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel + (" (%)" if percent else ""))
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
