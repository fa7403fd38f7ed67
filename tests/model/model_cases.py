"""Shared cases for the model-file tests: real models and generated flavours.

Imported by the test modules beside it (pytest puts this folder on sys.path).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import ABSENT_REASON, SHARED_MODELS, shared_file  # noqa: F401 (re-exported)

from gpunep.model import random_model


def real_model_params() -> list:
    """Every nep.txt-format file under ../shared/models, as pytest params (one skip if absent)."""
    if not SHARED_MODELS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=ABSENT_REASON), id="absent")]
    files = []
    for path in sorted(SHARED_MODELS.rglob("*.txt")):
        with open(path, encoding="utf-8", errors="replace") as handle:
            if handle.readline().startswith("nep"):
                files.append(path)
    return [pytest.param(path, id=str(path.relative_to(SHARED_MODELS))) for path in files]


def round7(values) -> np.ndarray:
    """What a value becomes after GPUMD's ``%15.7e`` and reading back."""
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    return np.array([float(f"{v:15.7e}") for v in flat]).reshape(np.shape(values))


# Every file flavour of docs/file-formats.md#model-file-header (and of issue 2), as random_model
# arguments. Small sizes keep the suite fast; the flavours differ only where the format does.
SMALL = dict(n_max=(3, 2), basis_size=(4, 3), n_neuron=5, max_neighbors=(40, 20))
FLAVOURS: dict[str, dict] = {
    "nep3": dict(version=3, l_max=(4, 2, 0)),
    "nep4": dict(version=4, l_max=(4, 2, 0)),
    "nep5": dict(version=5, l_max=(4, 2, 1)),
    "nep4_single_type": dict(types=("Si",), l_max=(4, 0, 0)),
    "zbl_universal": dict(zbl=(1.0, 2.0)),
    "zbl_typewise": dict(zbl=(0.0, 2.0), zbl_typewise_cutoff_factor=0.7),
    "zbl_flexible": dict(zbl=(0.0, 0.0), types=("H", "C", "O")),
    "nep5_zbl_flexible": dict(version=5, zbl=(0.0, 0.0)),
    "typewise_cutoffs": dict(cutoff=((6.0, 5.5, 5.0), (4.0, 3.5, 3.0)), types=("Ba", "Ti", "O")),
    "typewise_cutoffs_zbl": dict(cutoff=((6.0, 5.0), (4.0, 3.5)), zbl=(1.0, 2.0)),
    "l_max_1_field": dict(l_max=(3,)),
    "l_max_2_fields": dict(l_max=(4, 2)),
    "l_max_3_fields": dict(l_max=(4, 2, 1)),
    "l_max_4_fields": dict(l_max=(4, 2, 1, 1)),
    "l_max_5_fields": dict(l_max=(4, 0, 1, 0, 1)),
    "l_max_6_fields": dict(l_max=(4, 2, 0, 1, 0, 1)),
    "l_max_7_fields": dict(l_max=(4, 2, 1, 1, 1, 1, 1)),
    "l_max_only_last": dict(l_max=(2, 0, 0, 0, 0, 0, 1)),
    "charge1": dict(model_type="potential_with_charges", charge_mode=1),
    "charge2": dict(model_type="potential_with_charges", charge_mode=2),
    "charge2_zbl": dict(model_type="potential_with_charges", charge_mode=2, zbl=(0.75, 1.5)),
    "nep3_charge1": dict(version=3, model_type="potential_with_charges", charge_mode=1),
    "dipole": dict(model_type="dipole"),
    "nep3_dipole": dict(version=3, model_type="dipole"),
    "polarizability": dict(model_type="polarizability", types=("Ba", "Zr", "O")),
    "nep3_polarizability": dict(version=3, model_type="polarizability"),
    "temperature": dict(model_type="temperature"),
    "temperature_zbl": dict(model_type="temperature", zbl=(1.0, 2.0)),
    "nep5_temperature": dict(version=5, model_type="temperature"),
}


def make_flavour(name: str, seed: int = 0):
    """A small random model of the named flavour (see ``FLAVOURS``)."""
    kwargs = {**SMALL, "types": ("Te", "Pb"), **FLAVOURS[name]}
    return random_model(seed=seed, **kwargs)


# ---------------------------------------------------------------------------
# docs/network.md#parameter-counts and #parameter-order written out a second time,
# independently of gpunep.model.layout, so that the tests compare the package
# against the documented format and not against itself.
def spec_sizes(model) -> dict[str, int]:
    """Sizes of docs/network.md#parameter-counts from the hyperparameters alone."""
    t = len(model.types)
    flags = [model.l_max_4b, model.l_max_5b, model.has_q_112, model.has_q_123,
             model.has_q_233, model.has_q_134]
    num_l = model.l_max_3b + sum(1 for f in flags if f != 0)
    dim = (model.n_max_radial + 1) + (model.n_max_angular + 1) * num_l
    if model.model_type == "temperature":
        dim += 1
    n1 = model.n_neuron
    if model.model_type == "potential_with_charges":
        n_ann = (dim + 3) * n1 * (1 if model.version == 3 else t) + 2
    elif model.version == 3:
        n_ann = (dim + 2) * n1 + 1
    elif model.version == 5:
        n_ann = ((dim + 2) * n1 + 1) * t + 1
    else:
        n_ann = (dim + 2) * n1 * t + 1
    if model.model_type == "polarizability":
        n_ann *= 2
    n_c = t * t * ((model.n_max_radial + 1) * (model.n_basis_radial + 1)
                   + (model.n_max_angular + 1) * (model.n_basis_angular + 1))
    n_zbl = 10 * t * (t + 1) // 2 if model.zbl == (0.0, 0.0) else 0
    return dict(dim=dim, n_ann=n_ann, n_c=n_c, n_zbl=n_zbl,
                values=n_ann + n_c + dim + n_zbl,
                lines=(7 if model.zbl is not None else 6) + n_ann + n_c + dim + n_zbl)


def spec_fitted_vector(model, ann: dict, radial: dict, angular: dict) -> list[float]:
    """The fitted parameters (network, coefficients) in docs/network.md#parameter-order.

    Built by explicit loops.
    """
    types, n1 = model.types, model.n_neuron
    dim = spec_sizes(model)["dim"]
    nets = ["all_species"] if model.version == 3 else list(types)
    out: list[float] = []

    def block(suffix: str) -> None:
        for name in nets:
            net = ann[name]
            w0, b0, w1 = net["w0" + suffix], net["b0" + suffix], net["w1" + suffix]
            out.extend(float(w0[mu, nu]) for mu in range(n1) for nu in range(dim))
            out.extend(float(b0[mu, 0]) for mu in range(n1))
            out.extend(float(w1[0, mu]) for mu in range(n1))
            if suffix == "" and model.model_type == "potential_with_charges":
                out.extend(float(net["w1_charge"][0, mu]) for mu in range(n1))
            if suffix == "" and model.version == 5:
                out.append(float(net["b1_species"]))

    block("")
    if model.model_type == "potential_with_charges":
        out.append(float(ann["sqrt_epsilon_infinity"]) if "sqrt_epsilon_infinity" in ann
                   else float(model.sqrt_epsilon_infinity))
    out.append(float(ann["b1"]))
    if model.model_type == "polarizability":
        block("_polar")
        out.append(float(ann["b1_polar"]))
    for weights, n_max, n_basis in ((radial, model.n_max_radial, model.n_basis_radial),
                                    (angular, model.n_max_angular, model.n_basis_angular)):
        for n in range(n_max + 1):
            for k in range(n_basis + 1):
                for a in types:
                    for b in types:
                        out.append(float(weights[(a, b)][n, k]))
    return out


def spec_values(model) -> list[float]:
    """Every value line of nep.txt (docs/network.md#parameter-order) for ``model``."""
    out = spec_fitted_vector(model, model.ann_parameters, model.radial_descriptor_weights,
                             model.angular_descriptor_weights)
    out.extend(float(v) for v in model.q_scaler)
    if model.zbl == (0.0, 0.0):
        t = len(model.types)
        for i in range(t):
            for j in range(i, t):
                out.extend(float(v) for v in model.zbl_parameters[(model.types[i], model.types[j])])
    return out


def file_values(path, model) -> list[float]:
    """The value lines of a nep.txt, parsed by hand (first token of each line)."""
    lines = Path(path).read_text().split("\n")
    header = 7 if model.zbl is not None else 6
    return [float(line.split()[0]) for line in lines[header:] if line.strip()]
