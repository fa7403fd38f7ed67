"""Cutoff function and Chebyshev radial basis, and the radial functions g_n(r)
built from them (docs/descriptors.md#cutoff-function-and-chebyshev-basis,
docs/descriptors.md#radial-functions; Fan et al. 2021 PRB 104 104309).

Every function takes one value of ``r`` and ``rc`` per pair: the pair cutoff
(mean of the two species' cutoffs) enters both ``fc`` and the Chebyshev
argument ``x(r)``.
"""

from __future__ import annotations

import numpy as np


def cutoff_function(r: np.ndarray, rc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``fc(r) = (1 + cos(pi r / rc)) / 2`` for ``r < rc`` (else 0) and its derivative.

    Returns
    -------
    fc, dfc : (P,) arrays
    """
    inside = r < rc
    phase = np.pi * r / rc
    fc = np.where(inside, 0.5 * (1.0 + np.cos(phase)), 0.0)
    dfc = np.where(inside, -0.5 * np.pi / rc * np.sin(phase), 0.0)
    return fc, dfc


def chebyshev_basis(r: np.ndarray, rc: np.ndarray, k_max: int) -> tuple[np.ndarray, np.ndarray]:
    """The basis ``f_k(r) = (T_k(x) + 1) fc(r) / 2`` for ``k = 0..k_max`` and ``d f_k / d r``.

    ``x = 2 (r / rc - 1)^2 - 1`` maps ``[0, rc]`` onto ``[-1, 1]``.

    Returns
    -------
    f, df : (P, k_max + 1) arrays
    """
    fc, dfc = cutoff_function(r, rc)
    x = 2.0 * (r / rc - 1.0) ** 2 - 1.0
    dx = 4.0 * (r / rc - 1.0) / rc
    # T_k and dT_k/dx by the three-term recursion T_{k+1} = 2x T_k - T_{k-1};
    # rows are k so that each step writes one contiguous array.
    t = np.empty((k_max + 1, r.shape[0]))
    dt = np.empty_like(t)
    t[0], dt[0] = 1.0, 0.0
    if k_max >= 1:
        t[1], dt[1] = x, 1.0
    for k in range(1, k_max):
        t[k + 1] = 2.0 * x * t[k] - t[k - 1]
        dt[k + 1] = 2.0 * t[k] + 2.0 * x * dt[k] - dt[k - 1]
    f = (0.5 * (t + 1.0) * fc).T
    df = (0.5 * dt * (dx * fc) + 0.5 * (t + 1.0) * dfc).T
    return f, df


def radial_functions(
    r: np.ndarray, rc: np.ndarray, pair_type: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``g_n(r) = sum_k c(n, k, t_i, t_j) f_k(r)`` and ``d g_n / d r`` per pair.

    docs/descriptors.md#radial-functions

    Parameters
    ----------
    r, rc : (P,) distances and pair cutoffs
    pair_type : (P,) ``t_i * T + t_j`` (center type first)
    weights : (T * T, n_max + 1, k_max + 1) the coefficients ``c`` per type pair

    Returns
    -------
    g, dg : (P, n_max + 1) arrays
    """
    f, df = chebyshev_basis(r, rc, weights.shape[2] - 1)
    g = np.empty((r.shape[0], weights.shape[1]))
    dg = np.empty_like(g)
    # c(a, b) != c(b, a): each ordered type pair has its own coefficients.
    for code in np.unique(pair_type):
        sel = pair_type == code
        g[sel] = f[sel] @ weights[code].T
        dg[sel] = df[sel] @ weights[code].T
    return g, dg
