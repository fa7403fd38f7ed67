"""Parity plots (predicted vs reference) as PNG files, with matplotlib.

Figures are :class:`matplotlib.figure.Figure` objects drawn and saved
directly: no pyplot, so a notebook's backend and open figures stay as they
were. matplotlib is an optional extra (``pip install gpunep[plot]``); it is
imported only when a plot is drawn, with a clear error when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gpunep.properties import PROPERTIES
from gpunep.io.file_set import naming

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from gpunep.prediction_result import PredictionResult


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("parity plots need matplotlib: pip install matplotlib "
                          "(or gpunep[plot]); use --no-plots to skip them") from None
    return Figure


def parity_plots(result: "PredictionResult", directory: str | os.PathLike,
                 prefix: str = "parity_") -> list[Path]:
    """Write one parity plot per property that has reference values.

    Each plot shows predicted against reference values (all components),
    the diagonal, and the RMSE in the legend. Properties without any
    reference value get no plot.

    Returns
    -------
    The PNG files written, e.g. ``parity_energy.png``.
    """
    pred, ref = result.columns(), result.reference_columns()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for prop in pred:  # the properties the model gives (e.g. no energy from a dipole model)
        p = np.asarray(pred[prop]).reshape(len(pred[prop]), -1)
        r = np.asarray(ref[prop]).reshape(len(ref[prop]), -1)
        keep = np.all(np.isfinite(r), axis=1) & np.all(np.isfinite(p), axis=1)
        if not keep.any():
            continue
        path = directory / f"{prefix}{prop}.png"
        figure = parity_figure(p[keep].reshape(-1), r[keep].reshape(-1), prop, PROPERTIES[prop].unit)
        with naming(path):
            figure.savefig(path)
        written.append(path)
    return written


def parity_figure(pred: np.ndarray, ref: np.ndarray, prop: str, unit: str) -> "Figure":
    """One parity plot: ``pred`` against ``ref`` with the diagonal and the RMSE in the legend."""
    rmse = float(np.sqrt(np.mean((pred - ref) ** 2)))
    fig = _figure_class()(figsize=(4.5, 4.5), dpi=120)
    ax = fig.subplots()
    lo = float(min(pred.min(), ref.min()))
    hi = float(max(pred.max(), ref.max()))
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.6", lw=1, zorder=0)
    ax.scatter(ref, pred, s=4, alpha=0.5, lw=0, label=f"RMSE {rmse:.4g} {unit}")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    ax.set_xlabel(f"reference {prop} ({unit})")
    ax.set_ylabel(f"predicted {prop} ({unit})")
    ax.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    return fig
