"""The order of parameter values in nep.txt and nep.restart (docs/network.md#parameter-order).

One pair of functions per block maps between the flat vector of the file and
the structured trees of :class:`~gpunep.model.Model`. The same functions
serve the model (values) and the restart (``mu`` and ``sigma`` trees of the
same shapes), so the two can never disagree about the order.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def network_keys(model_type: str, version: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Per-network array keys, in file order, for the first and second ANN block."""
    first = ["w0", "b0", "w1"]
    if model_type == "potential_with_charges":
        first.append("w1_charge")
    if version == 5:
        first.append("b1_species")
    second = ("w0_polar", "b0_polar", "w1_polar") if model_type == "polarizability" else ()
    return tuple(first), second


def _shape(key: str, n_neuron: int, dim: int) -> tuple[int, ...]:
    if key.startswith("w0"):
        return (n_neuron, dim)
    if key.startswith("b0"):
        return (n_neuron, 1)
    if key == "b1_species":
        return ()
    return (1, n_neuron)


def lookup(tree: dict, key: Any, label: str) -> Any:
    """``tree[key]``, or a ValueError naming what is missing (not a bare KeyError)."""
    try:
        return tree[key]
    except (KeyError, TypeError):
        raise ValueError(f"{label} has no entry {key!r}") from None


def network_names(types: tuple[str, ...], version: int) -> tuple[str, ...]:
    return ("all_species",) if version == 3 else tuple(types)


def unflatten_ann(values: np.ndarray, *, types: tuple[str, ...], version: int,
                  model_type: str, n_neuron: int, dim: int) -> dict[str, Any]:
    """Split the ANN block into ``{network: {key: array}, 'b1': float, ...}``."""
    first, second = network_keys(model_type, version)
    names = network_names(types, version)
    tree: dict[str, Any] = {name: {} for name in names}
    pos = 0

    def take(shape: tuple[int, ...]) -> np.ndarray:
        nonlocal pos
        size = int(np.prod(shape, dtype=np.int64))
        out = np.array(values[pos:pos + size], dtype=np.float64).reshape(shape)
        pos += size
        return out

    for keys, bias in ((first, "b1"), (second, "b1_polar")):
        if not keys:
            continue
        for name in names:
            for key in keys:
                array = take(_shape(key, n_neuron, dim))
                tree[name][key] = float(array) if array.ndim == 0 else array
        if model_type == "potential_with_charges":
            tree["sqrt_epsilon_infinity"] = float(take(()))
        tree[bias] = float(take(()))
    if pos != len(values):
        raise AssertionError(f"ANN layout consumed {pos} of {len(values)} values")
    return tree


def flatten_ann(tree: dict[str, Any], *, types: tuple[str, ...], version: int,
                model_type: str, n_neuron: int, dim: int) -> np.ndarray:
    """Inverse of :func:`unflatten_ann`; checks every array's shape."""
    first, second = network_keys(model_type, version)
    names = network_names(types, version)
    parts: list[np.ndarray] = []
    for keys, bias in ((first, "b1"), (second, "b1_polar")):
        if not keys:
            continue
        for name in names:
            for key in keys:
                network = lookup(tree, name, "ann_parameters")
                value = np.asarray(lookup(network, key, f"ann_parameters[{name!r}]"), dtype=np.float64)
                expected = _shape(key, n_neuron, dim)
                if value.shape != expected:
                    raise ValueError(
                        f"ann_parameters[{name!r}][{key!r}] has shape {value.shape}, "
                        f"expected {expected} for n_neuron={n_neuron}, descriptor dim={dim}"
                    )
                parts.append(value.reshape(-1))
        if model_type == "potential_with_charges":
            parts.append(np.array([lookup(tree, "sqrt_epsilon_infinity", "ann_parameters")],
                                  dtype=np.float64))
        parts.append(np.array([lookup(tree, bias, "ann_parameters")], dtype=np.float64))
    return np.concatenate(parts)


def unflatten_descriptor(values: np.ndarray, types: tuple[str, ...], n_max: int,
                         n_basis: int) -> dict[tuple[str, str], np.ndarray]:
    """``c(n, k, t_i, t_j)`` at ``((n (K+1) + k) T + t_i) T + t_j`` -> per-pair arrays."""
    t = len(types)
    c = np.asarray(values, dtype=np.float64).reshape(n_max + 1, n_basis + 1, t, t)
    return {(a, b): np.ascontiguousarray(c[:, :, i, j])
            for i, a in enumerate(types) for j, b in enumerate(types)}


def flatten_descriptor(weights: dict[tuple[str, str], np.ndarray], types: tuple[str, ...],
                       n_max: int, n_basis: int, label: str) -> np.ndarray:
    t = len(types)
    c = np.empty((n_max + 1, n_basis + 1, t, t))
    for i, a in enumerate(types):
        for j, b in enumerate(types):
            value = np.asarray(lookup(weights, (a, b), label), dtype=np.float64)
            if value.shape != (n_max + 1, n_basis + 1):
                raise ValueError(f"{label}[({a!r}, {b!r})] has shape {value.shape}, "
                                 f"expected {(n_max + 1, n_basis + 1)}")
            c[:, :, i, j] = value
    return c.reshape(-1)


def zbl_pairs(types: tuple[str, ...]) -> list[tuple[str, str]]:
    """Unordered type pairs in the flexible-ZBL table order (0,0), (0,1), ..., (T-1,T-1)."""
    return [(types[i], types[j]) for i in range(len(types)) for j in range(i, len(types))]
