"""calorine's ``Model`` as a gpunep :class:`~gpunep.model.model.Model`, converted in memory.

calorine (``calorine.nep.read_model``) holds a NEP model in a dataclass
whose field names gpunep's :class:`~gpunep.model.fields.ModelFields`
follows, so the conversion copies field by field: nothing is written to or
re-read from disk, and a model edited in memory with calorine converts with
its edits and every digit (nep.txt would keep seven). Where the two differ
in form the conversion says so in :func:`from_calorine`. calorine is not
imported: a model is recognised by its class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gpunep.model import io
from gpunep.model.fields import ModelFields

#: the header fields gpunep's Model shares with calorine's under the same name and meaning
_SHARED = ("version", "model_type", "n_max_radial", "n_max_angular", "n_basis_radial",
           "n_basis_angular", "l_max_3b", "l_max_4b", "l_max_5b", "has_q_112", "has_q_123",
           "has_q_233", "has_q_134", "n_neuron", "max_neighbors_radial", "max_neighbors_angular")
#: output-layer weights, which calorine keeps as (n_neuron,) for charge models; gpunep as (1, n_neuron)
_OUTPUT_WEIGHTS = ("w1", "w1_charge", "w1_polar")


def is_calorine_model(value: Any) -> bool:
    """Whether ``value`` is a ``calorine.nep.model.Model``."""
    kind = type(value)
    return kind.__name__ == "Model" and kind.__module__.split(".")[0] == "calorine"


def from_calorine(model: Any) -> ModelFields:
    """The fields of a calorine ``Model``, copied (the calorine model is never shared or changed).

    Differences in form, made good here: calorine gives a one-species
    model's cutoffs as one-element lists (gpunep: numbers), keeps
    ``charge_mode = 0`` on models without charges (gpunep: None), and
    stores charge models' output weights flat.

    Raises
    ------
    ValueError
        A calorine feature gpunep does not evaluate (a second hidden layer,
        van der Waals terms), or parameters whose shapes do not fit the
        architecture (named as in :func:`gpunep.model.io.parameter_vector`).
    """
    for feature, present in (("a second hidden layer", getattr(model, "n_neuron_second_layer", 0)),
                             ("van der Waals terms (vdw)", getattr(model, "vdw", False))):
        if present:
            raise ValueError(f"calorine model: {feature} is not supported by gpunep")
    for name in ("max_neighbors_radial", "max_neighbors_angular"):
        if getattr(model, name) is None:
            raise ValueError(f"calorine model: {name} is not set (nep.txt's cutoff line holds it)")
    types = tuple(str(t) for t in model.types)
    charged = model.model_type == "potential_with_charges"
    fields = ModelFields(
        **{name: int(getattr(model, name)) for name in _SHARED if name != "model_type"},
        model_type=str(model.model_type),
        types=types,
        radial_cutoff=_cutoff(model.radial_cutoff),
        angular_cutoff=_cutoff(model.angular_cutoff),
        ann_parameters=_copied(model.ann_parameters),
        q_scaler=np.array(model.q_scaler, dtype=np.float64),
        radial_descriptor_weights=_copied(model.radial_descriptor_weights),
        angular_descriptor_weights=_copied(model.angular_descriptor_weights),
        zbl=None if model.zbl is None else (float(model.zbl[0]), float(model.zbl[1])),
        zbl_typewise_cutoff_factor=_number(model.zbl_typewise_cutoff_factor),
        zbl_parameters=None if model.zbl_parameters is None else _copied(model.zbl_parameters),
        charge_mode=int(model.charge_mode) if charged else None,
        sqrt_epsilon_infinity=_number(model.sqrt_epsilon_infinity) if charged else None,
        restart_parameters=(None if model.restart_parameters is None
                            else _copied(model.restart_parameters)),
    )
    _check(fields)
    return fields


def _check(fields: ModelFields) -> None:
    """Every array of the right shape and finite: the checks of the nep.txt writer."""
    try:
        io.parameter_vector(fields)
        if fields.restart_parameters is not None:
            io.restart_vectors(fields)
    except ValueError as exc:
        raise ValueError(f"calorine model: {exc}") from None


def _cutoff(value: Any) -> float | list[float]:
    if np.ndim(value) == 0:
        return float(value)
    values = [float(v) for v in value]
    return values[0] if len(values) == 1 else values


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _copied(tree: Any, key: Any = None) -> Any:
    """A deep float64 copy of a parameter tree; output weights as (1, n_neuron) rows."""
    if isinstance(tree, dict):
        return {k: _copied(v, k) for k, v in tree.items()}
    if np.ndim(tree) == 0:
        return float(tree)
    array = np.array(tree, dtype=np.float64)
    if key in _OUTPUT_WEIGHTS and array.ndim == 1:
        array = array.reshape(1, -1)
    return array
