"""The per-atom networks (docs/network.md; docs/charges.md#charges-from-the-network;
docs/tensors.md).

``x = q_scaler * q``; ``h = tanh(W0 x - b0)``; ``U = w1 . h - b1`` (NEP5 also
subtracts a per-species bias). Both biases are subtracted. NEP3 has one
network shared by all species, NEP4 and NEP5 one per species. Charge models
add a second head on the same hidden layer, ``q_raw = w1_charge . h`` (no
bias); polarizability models a second, scalar network (``*_polar``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gpunep.model import Model


def network_for(model: "Model", type_index: int) -> dict:
    """The parameters of the network that type ``type_index`` uses."""
    key = "all_species" if model.version == 3 else model.types[type_index]
    return model.ann_parameters[key]


def energy_and_gradient(model: "Model", q: np.ndarray, types: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-atom energy ``U_i`` and ``dU_i/dq`` for unscaled descriptors ``q``.

    For dipole and polarizability models this is the (tensor) network's
    scalar output ``F_i`` whose derivatives make the tensor (docs/tensors.md).

    Parameters
    ----------
    q : (N, dim) unscaled descriptors (docs/descriptors.md#descriptor-vector)
    types : (N,) type index per atom

    Returns
    -------
    energies : (N,) eV
    dU_dq : (N, dim) ``q_scaler * dU/dx`` (the scaler enters twice,
        docs/network.md#gradient-with-respect-to-the-descriptor)
    """
    b1 = float(model.ann_parameters["b1"])

    def bias(net: dict) -> float:
        return b1 + float(net["b1_species"]) if model.version == 5 else b1

    return _head(model, q, types, "w0", "b0", "w1", bias)


def charge_and_gradient(model: "Model", q: np.ndarray, types: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw charges ``q_i^raw = w1_charge . h`` (no bias) and ``dq_i^raw/dq``.

    docs/charges.md#charges-from-the-network

    Returns
    -------
    charges : (N,) e, before neutralisation
    dq_dq : (N, dim) ``Fp^Q``, ``q_scaler`` applied like ``Fp``
    """
    return _head(model, q, types, "w0", "b0", "w1_charge", lambda net: 0.0)


def scalar_polarizability(model: "Model", q: np.ndarray, types: np.ndarray) -> np.ndarray:
    """The second (scalar) network of a polarizability model, ``F^s_i``, shape (N,).

    docs/tensors.md#polarizability-models
    """
    b1 = float(model.ann_parameters["b1_polar"])
    values, _ = _head(model, q, types, "w0_polar", "b0_polar", "w1_polar", lambda net: b1)
    return values


def _head(model: "Model", q: np.ndarray, types: np.ndarray, w0_key: str, b0_key: str,
          w1_key: str, bias) -> tuple[np.ndarray, np.ndarray]:
    """``w1 . tanh(W0 x - b0) - bias(net)`` per atom and its gradient with respect to ``q``."""
    scaler = np.asarray(model.q_scaler, dtype=np.float64)
    x = q * scaler
    values = np.zeros(q.shape[0])
    grad = np.zeros_like(q)
    for t in np.unique(types):
        sel = types == t
        net = network_for(model, int(t))
        w0 = np.asarray(net[w0_key], dtype=np.float64)             # (n_neuron, dim)
        b0 = np.asarray(net[b0_key], dtype=np.float64).reshape(-1)  # (n_neuron,)
        w1 = np.asarray(net[w1_key], dtype=np.float64).reshape(-1)  # (n_neuron,)
        h = np.tanh(x[sel] @ w0.T - b0)
        values[sel] = h @ w1 - bias(net)
        grad[sel] = ((1.0 - h * h) * w1) @ w0
    return values, grad * scaler
