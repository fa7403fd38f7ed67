"""The float32 kernels reproduce GPUMD's own predictions (examples/nep_prediction).

GPUMD's ``nep`` executable evaluated the PbTe model on the 25 structures of
train.xyz on a GPU in float32 and printed the results with ``%g``
(docs/file-formats.md#gpumd-output-files, docs/validation.md#reference-outputs).
Tolerances are the resolution of those files, the same bar an independent
double-precision implementation meets (docs/validation.md#expected-agreement:
6.4e-6 eV/atom, 2.0e-5 eV/Å, 4.9e-6 eV/atom): energy 1e-5 eV/atom, force
5e-5 eV/Å, virial 1e-5 eV/atom.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gpunep.backends.kernel import KernelBackend
from gpunep.model import read_model
from gpunep.structures import pack

PREDICTION = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "gpumd" / "nep_prediction"
ENERGY_TOL = 1e-5  # eV/atom
FORCE_TOL = 5e-5  # eV/Å
VIRIAL_TOL = 1e-5  # eV/atom


@pytest.fixture(scope="module")
def prediction():
    if not PREDICTION.is_dir():
        pytest.skip("../shared/models not present (a user's clone): GPUMD nep_prediction skipped")
    from ase.io import read

    model = read_model(PREDICTION / "nep.txt")
    batch = pack(read(PREDICTION / "train.xyz", index=":"), model)
    backend = KernelBackend(model, "host", "float32")
    return batch, backend.evaluate(batch), backend


def test_energy_per_atom(prediction):
    batch, result, _ = prediction
    expected = np.loadtxt(PREDICTION / "energy_train.out")[:, 0]
    per_atom = result.energy / np.diff(batch.offsets)
    assert np.abs(per_atom - expected).max() <= ENERGY_TOL


def test_forces(prediction):
    _, result, _ = prediction
    expected = np.loadtxt(PREDICTION / "force_train.out")[:, :3]
    assert np.abs(result.forces - expected).max() <= FORCE_TOL


def test_virial_per_atom(prediction):
    batch, result, _ = prediction
    expected = np.loadtxt(PREDICTION / "virial_train.out")[:, :6]  # xx yy zz xy yz zx
    w = result.virial
    ours = np.stack([w[:, 0, 0], w[:, 1, 1], w[:, 2, 2], w[:, 0, 1], w[:, 1, 2], w[:, 2, 0]], axis=1)
    assert np.abs(ours / np.diff(batch.offsets)[:, None] - expected).max() <= VIRIAL_TOL


def test_per_atom_values_sum_to_totals(prediction):
    batch, result, _ = prediction
    s = batch.system_index
    # float32 per-atom values summed in float64 in two orders: 1e-9 relative is float64 round-off
    assert np.allclose(np.bincount(s, result.energies), result.energy, rtol=1e-9, atol=0)
    summed = np.stack([np.bincount(s, result.virials[:, a, b]) for a in range(3) for b in range(3)], 1)
    assert np.allclose(summed.reshape(-1, 3, 3), result.virial, rtol=1e-9, atol=1e-9)


def test_neighbor_maxima_like_gpumd(prediction):
    """GPUMD's neighbor.out for this model: capacities ceil(1.25 MN) = 92 / 10
    (docs/validation.md#neighbor-capacities)."""
    _, _, backend = prediction
    maxima = backend.neighbor_maxima
    assert (maxima.capacity_radial, maxima.capacity_angular) == (92, 10)
    # the file's MN values (73, 8) are the largest counts in this very training set
    assert (maxima.radial, maxima.angular) == (73, 8)
