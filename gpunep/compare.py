"""Validating an edited model: model A vs model B vs the data set vs GPUMD.

Both models are evaluated on the same structures with the same backend;
their predictions are compared property by property (energy per atom,
forces, virial per atom; for charge models also the raw charges and Born
effective charges; for dipole and polarizability models their dipole or
polarizability per atom; max |Δ| and RMSE, per species and config_type),
each is compared with the data set's reference values and, optionally, with
GPUMD's own ``*_train.out`` files. A verdict says whether B reproduces A,
against user tolerances when given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

import numpy as np

from gpunep.io.gpumd_files import GpumdOutputs, read_outputs
from gpunep.metrics import ErrorTable, error_table
from gpunep.prediction import predict
from gpunep.prediction_result import PredictionResult
from gpunep.properties import COMPARED, PROPERTIES, ROUND_OFF

if TYPE_CHECKING:
    from gpunep.model import Model


@dataclass
class Comparison:
    """The outcome of :func:`compare`.

    Attributes
    ----------
    a, b : the two predictions
    a_vs_b : differences A - B (A's values in the 'predicted' role)
    a_vs_reference, b_vs_reference : each against the data set's reference values
    a_vs_gpumd, b_vs_gpumd : each against GPUMD's predictions, when given
    gpumd_reference_mismatch : largest |Δ| between GPUMD's reference columns and
        the data set's (non-zero beyond %g rounding: the files belong to other data)
    tolerances : the user's limits on max |A - B| (property -> value in eV units)
    exceeded : the properties whose max |A - B| is above its tolerance
    """

    a: PredictionResult
    b: PredictionResult
    a_vs_b: ErrorTable
    a_vs_reference: ErrorTable
    b_vs_reference: ErrorTable
    a_vs_gpumd: ErrorTable | None = None
    b_vs_gpumd: ErrorTable | None = None
    gpumd_reference_mismatch: dict[str, float] = field(default_factory=dict)
    tolerances: dict[str, float] = field(default_factory=dict)
    exceeded: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """False when a user tolerance is exceeded."""
        return not self.exceeded

    def max_difference(self, prop: str) -> float:
        """Largest |A - B| of ``prop`` over the whole data set (eV/atom or eV/Å)."""
        return self.a_vs_b.max_abs(prop)

    def verdict(self) -> str:
        """One line: do A and B agree, and by how much."""
        summary = ", ".join(
            f"{prop} {self.max_difference(prop):.3g} {PROPERTIES[prop].unit}"
            for prop in self.a_vs_b.properties)
        if self.tolerances:
            if self.exceeded:
                details = "; ".join(
                    f"{prop} max |A-B| {self.max_difference(prop):.3g} > tolerance "
                    f"{self.tolerances[prop]:.3g} {PROPERTIES[prop].unit}" for prop in self.exceeded)
                return f"VERDICT: FAIL: {details}"
            return f"VERDICT: PASS: A and B agree within the tolerances (max |A-B|: {summary})"
        if all(self.max_difference(p) == 0.0 for p in self.a_vs_b.properties):
            return "VERDICT: A and B give identical predictions (max |A-B| = 0)"
        limits = ROUND_OFF.get(self.a.precision, ROUND_OFF["float32"])
        if all(self.max_difference(p) <= limits[p] for p in self.a_vs_b.properties):
            return (f"VERDICT: A and B agree to {self.a.precision} round-off "
                    f"(max |A-B|: {summary})")
        return (f"VERDICT: B differs from A (max |A-B|: {summary}); "
                "give --tolerance to turn this into a pass/fail check")

    def report(self) -> str:
        """Every table and the verdict, as `gpunep compare` prints them."""
        parts = [self.a_vs_b.format(), "", self.a_vs_reference.format(), "",
                 self.b_vs_reference.format()]
        for table in (self.a_vs_gpumd, self.b_vs_gpumd):
            if table is not None:
                parts += ["", table.format()]
        bad = {k: v for k, v in self.gpumd_reference_mismatch.items() if v > 0}
        if bad:
            parts += ["", "WARNING: GPUMD's reference columns differ from the data set's by "
                      + ", ".join(f"{k} {v:.3g}" for k, v in bad.items())
                      + " (other data, or reordered by training with batch < number of structures?)"]
        parts += ["", self.verdict()]
        return "\n".join(parts)


def compare(
    model_a: "Model | str | os.PathLike",
    model_b: "Model | str | os.PathLike",
    structures,
    backend: str = "auto",
    precision: str | None = None,
    batch_size: int | str = "auto",
    gpumd_outputs: str | os.PathLike | GpumdOutputs | None = None,
    tolerances: Mapping[str, float] | None = None,
    progress: bool | None = None,
    kspace: str = "truncated",
    mean_d_correction: bool = True,
) -> Comparison:
    """Evaluate two models on the same structures and compare them.

    Every model type works. The properties compared are those both models
    give: energy, force and virial for potentials and charge models; raw
    charges (``charge``, what GPUMD's charge_train.out holds) and Born
    effective charges (``bec``) between two charge models; ``dipole`` or
    ``polarizability`` (per atom, as GPUMD's files) between two TNEP models
    of that type. A potential against a charge model made from it (e.g.
    ``augment(charge_head=True)``) compares energies, forces and virials.

    Parameters
    ----------
    model_a, model_b : models or nep.txt paths (A is usually the original, B the edit)
    structures : as for :func:`gpunep.predict`
    backend, precision, batch_size, progress, kspace, mean_d_correction : as
        for :func:`gpunep.predict`; both models use the same ones
    gpumd_outputs : a folder of GPUMD ``*_train.out`` files computed on the same
        structures, or what :func:`gpunep.io.gpumd_files.read_outputs` returned
    tolerances : limits on max |A - B| per property (``energy`` eV/atom,
        ``force`` eV/Å, ``virial`` eV/atom, ``charge`` and ``bec`` e,
        ``dipole`` and ``polarizability`` per atom); any exceeded fails the comparison

    Raises
    ------
    ValueError
        An unknown tolerance name, two models without a common property
        (e.g. a dipole model and a potential), or GPUMD files for another
        number of structures or atoms.
    """
    tolerances = dict(tolerances or {})
    for name, value in tolerances.items():
        if name not in COMPARED:
            raise ValueError(f"unknown tolerance {name!r}; choose from {', '.join(COMPARED)}")
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"tolerance {name}={value} must be a finite number >= 0")
    if isinstance(structures, (str, os.PathLike)):
        source = structures
    else:
        source = list(structures)  # iterated twice, once per model
    options = dict(backend=backend, precision=precision, batch_size=batch_size, progress=progress,
                   kspace=kspace, mean_d_correction=mean_d_correction)
    a = predict(model_a, source, **options)
    b = predict(model_b, source, **options)
    pa, pb = _compared(a.columns()), _compared(b.columns())
    if not set(pa) & set(pb):
        raise ValueError(f"nothing to compare: A is a {a.model_type!r} model giving "
                         f"{', '.join(pa)}, B a {b.model_type!r} model giving {', '.join(pb)}")
    groups = dict(atom_species=a.symbols, offsets=a.offsets, config_types=a.config_types)
    result = Comparison(
        a=a, b=b,
        a_vs_b=error_table(pa, pb, title="A vs B (A - B)", **groups),
        a_vs_reference=a.rmse(title="A vs the data set's reference values"),
        b_vs_reference=b.rmse(title="B vs the data set's reference values"),
        tolerances=tolerances,
    )
    if gpumd_outputs is not None:
        gpumd = gpumd_outputs if isinstance(gpumd_outputs, GpumdOutputs) else read_outputs(gpumd_outputs)
        _check_sizes(gpumd, a)
        theirs = {key: getattr(gpumd, key) for key in COMPARED}
        theirs = {k: v for k, v in theirs.items() if v is not None}
        result.a_vs_gpumd = error_table(pa, theirs, title="A vs GPUMD (A - GPUMD)", **groups)
        result.b_vs_gpumd = error_table(pb, theirs, title="B vs GPUMD (B - GPUMD)", **groups)
        result.gpumd_reference_mismatch = _reference_mismatch(gpumd, a)
    result.exceeded = [prop for prop, limit in tolerances.items()
                       if prop in result.a_vs_b.properties and result.max_difference(prop) > limit]
    return result


def _compared(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The columns of the compared properties (the stress is the virial's over the volume)."""
    return {name: values for name, values in columns.items() if PROPERTIES[name].compared}


def _check_sizes(gpumd: GpumdOutputs, result: PredictionResult) -> None:
    for prop in COMPARED:
        per = PROPERTIES[prop].per
        values = getattr(gpumd, prop)
        expected = result.n_atoms if per == "atom" else result.n_structures
        if values is not None and len(values) != expected:
            unit = "atoms" if per == "atom" else "structures"
            raise ValueError(f"GPUMD's {prop}_train.out has {len(values)} {unit}, "
                             f"the data set {expected}")


def _reference_mismatch(gpumd: GpumdOutputs, result: PredictionResult) -> dict[str, float]:
    """How far GPUMD's reference columns are from the data set's, beyond %g rounding."""
    ours = result.reference_columns()
    mismatch = {}
    for key in ("energy", "force", "virial", "bec", "dipole", "polarizability"):
        theirs = getattr(gpumd, f"{key}_ref")
        if theirs is None or key not in ours:
            continue
        mine = ours[key].reshape(theirs.shape)
        both = np.isfinite(theirs) & np.isfinite(mine)
        if (np.isfinite(theirs) != np.isfinite(mine)).any():
            mismatch[key] = float("inf")
            continue
        if not both.any():
            continue
        # %g keeps 6 significant digits (half a unit of the 6th: <= 5e-6 relative),
        # of values GPUMD stored as float32 (6e-8 relative)
        excess = np.abs(theirs - mine) - 6e-6 * np.abs(mine)
        mismatch[key] = float(max(0.0, excess[both].max()))
    return mismatch
