"""The NEP descriptor of every atom (docs/descriptors.md) and its gradient
with respect to the angular sums.

Descriptor order (docs/descriptors.md#descriptor-vector): the
``n_max_radial + 1`` radial components, then the angular blocks l-major /
n-minor: 3-body ``l = 1..l_max_3b``, then the enabled extra invariants in
the order 222, 1111, 112, 123, 233, 134.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import numpy as np

from gpunep.errors import UnsupportedModelError
from gpunep.reference.angular import (
    MANY_BODY_INVARIANTS,
    Term,
    harmonics,
    n_harmonics,
    polynomial_invariant,
    three_body_weights,
)
from gpunep.reference.basis import radial_functions
from gpunep.reference.neighbors import Pairs

if TYPE_CHECKING:
    from gpunep.model import Model

# Pairs per chunk when the (pairs x harmonics x 3) arrays are formed.
PAIR_CHUNK = 16384


@dataclass(frozen=True)
class AngularBlock:
    """One angular block of the descriptor: a 3-body order ``l`` or an extra invariant."""

    name: str
    l: int = 0
    terms: tuple[Term, ...] = ()


def angular_blocks(model: "Model") -> list[AngularBlock]:
    """The angular blocks of ``model`` in descriptor order (docs/descriptors.md#descriptor-vector)."""
    blocks = [AngularBlock(f"3b_l{l}", l=l) for l in range(1, model.l_max_3b + 1)]
    for name, (flag, l_needed, terms) in MANY_BODY_INVARIANTS.items():
        if getattr(model, flag):
            if model.l_max_3b < l_needed:
                # GPUMD never accumulates the s this invariant reads
                # (docs/descriptors.md#invariant-requirements).
                raise UnsupportedModelError(
                    f"the q_{name} invariant needs l_max_3b >= {l_needed}, "
                    f"the model has l_max_3b = {model.l_max_3b}"
                )
            blocks.append(AngularBlock(name, terms=tuple(terms)))
    return blocks


def coefficient_table(weights: dict[tuple[str, str], np.ndarray], types: tuple[str, ...]) -> np.ndarray:
    """``c`` as an array indexed ``[t_i * T + t_j, n, k]`` (center type first)."""
    return np.stack([np.asarray(weights[(a, b)], dtype=np.float64) for a in types for b in types])


def segment_sum(values: np.ndarray, center: np.ndarray, n_atoms: int) -> np.ndarray:
    """``out[i] = sum of values[p] over the pairs p with center[p] == i``; centers sorted."""
    out = np.zeros((n_atoms,) + values.shape[1:])
    if center.shape[0]:
        starts = np.flatnonzero(np.r_[True, center[1:] != center[:-1]])
        out[center[starts]] = np.add.reduceat(values, starts, axis=0)
    return out


def center_chunks(center: np.ndarray, size: int = PAIR_CHUNK) -> Iterator[slice]:
    """Slices of about ``size`` pairs that never split the pairs of one center."""
    n = center.shape[0]
    start = 0
    while start < n:
        end = min(start + size, n)
        if end < n:
            end = int(np.searchsorted(center, center[end], side="left"))
            if end <= start:
                end = int(np.searchsorted(center, center[start], side="right"))
        yield slice(start, end)
        start = end


@dataclass
class RadialFunctions:
    """``g_n(r)`` and ``g_n'(r)`` on each pair of one neighbor set."""

    pairs: Pairs
    g: np.ndarray
    dg: np.ndarray


def pair_functions(pairs: Pairs, types: np.ndarray, cutoffs: np.ndarray,
                   weights: np.ndarray) -> RadialFunctions:
    """Evaluate ``g_n`` on ``pairs`` with their type-pair cutoffs and coefficients.

    docs/descriptors.md#radial-functions
    """
    n_types = cutoffs.shape[0]
    rc = cutoffs[types[pairs.center], types[pairs.neighbor]]
    g, dg = radial_functions(pairs.distances, rc, pairs.pair_types(types, n_types), weights)
    return RadialFunctions(pairs, g, dg)


def radial_descriptor(radial: RadialFunctions, n_atoms: int) -> np.ndarray:
    """``q_n(i) = sum_{j in R(i)} g^R_n(r_ij)``, shape (N, n_max_radial + 1).

    docs/descriptors.md#radial-descriptor
    """
    return segment_sum(radial.g, radial.pairs.center, n_atoms)


def angular_sums(angular: RadialFunctions, l_max: int, n_atoms: int) -> np.ndarray:
    """``s_{n,alpha}(i) = sum_{j in A(i)} g^A_n(r_ij) Y_alpha(u_ij)``, shape (N, n+1, n_alpha).

    docs/descriptors.md#angular-sums
    """
    pairs = angular.pairs
    s = np.zeros((n_atoms, angular.g.shape[1], n_harmonics(l_max)))
    for part in center_chunks(pairs.center):
        u = pairs.vectors[part] / pairs.distances[part, None]
        y, _ = harmonics(u, l_max)
        s += segment_sum(angular.g[part, :, None] * y[:, None, :], pairs.center[part], n_atoms)
    return s


def angular_descriptor(s: np.ndarray, blocks: list[AngularBlock]) -> np.ndarray:
    """The angular descriptor, l-major / n-minor, shape (N, len(blocks) * (n+1)).

    docs/descriptors.md#descriptor-vector
    """
    q = [_block_value_and_gradient(s, block)[0] for block in blocks]
    return np.concatenate(q, axis=1) if q else np.zeros((s.shape[0], 0))


def angular_sum_gradient(s: np.ndarray, fp_angular: np.ndarray,
                         blocks: list[AngularBlock]) -> np.ndarray:
    """``G_{n,alpha}(i) = sum_blocks dU_i/dq_{block,n} * dq_{block,n}/ds_{n,alpha}``
    (docs/forces.md#angular-pair-forces).

    Parameters
    ----------
    s : (N, n+1, n_alpha) angular sums
    fp_angular : (N, len(blocks) * (n+1)) ``dU/dq`` of the angular components

    Returns
    -------
    (N, n+1, n_alpha)
    """
    n_radial = s.shape[1]
    grad = np.zeros_like(s)
    for b, block in enumerate(blocks):
        fp = fp_angular[:, b * n_radial:(b + 1) * n_radial]
        _, dq_ds = _block_value_and_gradient(s, block)
        grad += fp[:, :, None] * dq_ds
    return grad


def _block_value_and_gradient(s: np.ndarray, block: AngularBlock) -> tuple[np.ndarray, np.ndarray]:
    """One block's invariant for every atom and n, (N, n+1), and its gradient, (N, n+1, n_alpha)."""
    if block.l:
        # 3-body: q_{n,l} = C_{l,0} s_0^2 + 2 sum_m C_{l,m} (s_cos^2 + s_sin^2)
        first = block.l * block.l - 1
        part = slice(first, first + 2 * block.l + 1)
        w = three_body_weights(block.l)
        grad = np.zeros_like(s)
        grad[:, :, part] = 2.0 * w * s[:, :, part]
        return np.einsum("a,ina->in", w, s[:, :, part] ** 2), grad
    return polynomial_invariant(s, list(block.terms))
