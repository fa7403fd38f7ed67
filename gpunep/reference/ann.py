"""The per-atom energy network (NEP_SPEC §3.8).

``x = q_scaler * q``; ``h = tanh(W0 x - b0)``; ``U = w1 . h - b1`` (NEP5 also
subtracts a per-species bias). Both biases are subtracted. NEP3 has one
network shared by all species, NEP4 and NEP5 one per species.
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

    Parameters
    ----------
    q : (N, dim) unscaled descriptors (§3.7)
    types : (N,) type index per atom

    Returns
    -------
    energies : (N,) eV
    dU_dq : (N, dim) ``q_scaler * dU/dx`` (the scaler enters twice, §8.3)
    """
    scaler = np.asarray(model.q_scaler, dtype=np.float64)
    x = q * scaler
    energies = np.zeros(q.shape[0])
    grad = np.zeros_like(q)
    b1 = float(model.ann_parameters["b1"])
    for t in np.unique(types):
        sel = types == t
        net = network_for(model, int(t))
        w0 = np.asarray(net["w0"], dtype=np.float64)             # (n_neuron, dim)
        b0 = np.asarray(net["b0"], dtype=np.float64).reshape(-1)  # (n_neuron,)
        w1 = np.asarray(net["w1"], dtype=np.float64).reshape(-1)  # (n_neuron,)
        bias = b1 + float(net["b1_species"]) if model.version == 5 else b1
        h = np.tanh(x[sel] @ w0.T - b0)
        energies[sel] = h @ w1 - bias
        grad[sel] = ((1.0 - h * h) * w1) @ w0
    return energies, grad * scaler
