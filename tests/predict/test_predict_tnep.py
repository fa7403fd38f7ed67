"""predict() and `gpunep predict` on dipole and polarizability models (../shared/models/tnep).

No GPUMD outputs exist for these models, so: batched predictions equal the
one-at-a-time NEPCalculator (both the numpy reference; the reference's own
physics is tested in tests/reference/test_tnep.py), and the files follow
GPUMD's layout (docs/file-formats.md#gpumd-output-files): per structure, prediction / N then target
/ N. The targets are written into the data file by the test itself, from the
reference's own prediction plus known offsets, so the target columns and the
RMSE are checked against numbers the test knows.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.io import read, write

from conftest import shared_models
from gpunep import read_model
from gpunep.calculator import NEPCalculator
from gpunep.cli import main
from gpunep.io.gpumd_files import read_outputs
from gpunep.prediction import predict
from gpunep.properties import GPUMD_SIX, six_from_matrix

# Batch vs single evaluation in float64 differ at most in the order of sums (observed: 0);
# 1e-10 is far below any packing error (a lost or extra atom changes these by > 1e-3).
ATOL = 1e-10
# %g keeps 6 significant digits: half a unit of the 6th is 5e-6 relative
PRINTED_RTOL = 5e-6
KINDS = ("dipole", "polarizability")


def structures(kind: str) -> list[Atoms]:
    """The shared 13-atom molecule (100 Å box), a rotated rattled copy, a 10-atom fragment and the
    molecule without a cell."""
    molecule = read(shared_models() / "tnep" / kind / "structure.xyz")
    moved = molecule.copy()
    moved.rattle(0.05, seed=1)
    moved.rotate(30, "z", center="COP")
    fragment = molecule.copy()
    del fragment[[0, 5, 9]]
    isolated = molecule.copy()
    isolated.pbc = False
    isolated.cell = np.zeros((3, 3))
    return [molecule, moved, fragment, isolated]


@pytest.fixture(scope="module", params=KINDS)
def case(request):
    kind = request.param
    model = read_model(shared_models() / "tnep" / kind / "nep.txt")
    calc = NEPCalculator(model, backend="reference")
    expected = []
    for atoms in structures(kind):
        atoms = atoms.copy()
        atoms.calc = calc
        expected.append(atoms.calc.get_property(kind, atoms))
    return kind, model, np.array(expected)


@pytest.mark.parametrize("batch_size", ["auto", 2])
def test_predict_equals_the_calculator_one_at_a_time(case, batch_size):
    kind, model, expected = case
    result = predict(model, structures(kind), backend="reference", batch_size=batch_size)
    assert result.model_type == kind
    np.testing.assert_allclose(getattr(result, kind), expected, rtol=0, atol=ATOL)
    other = "polarizability" if kind == "dipole" else "dipole"
    assert getattr(result, other) is None
    # the network output is not an energy: no energy, forces, virial or stress
    assert result.energy is None and result.forces is None and result.virial is None
    assert result.stress is None and result.charges is None
    # the molecule's images in its 100 Å box are far beyond the cutoff: the same as without a cell
    np.testing.assert_allclose(expected[3], expected[0], rtol=0, atol=ATOL)


def _with_targets(kind: str, expected: np.ndarray) -> tuple[list[Atoms], list[np.ndarray | None]]:
    """The structures with targets: exact for 0, offset for 1 and 2, none for 3."""
    rng = np.random.default_rng(7)
    frames = structures(kind)
    frames[3].cell = np.diag([100.0, 100.0, 100.0])  # extxyz keeps pbc=F only with a lattice
    targets: list[np.ndarray | None] = []
    for s, atoms in enumerate(frames):
        atoms.info.pop("virial", None)
        if s == 3:
            targets.append(None)
            continue
        offset = np.zeros(expected[s].shape) if s == 0 else rng.normal(0, 0.5, expected[s].shape)
        if kind == "polarizability":
            offset = offset + offset.T  # a polarizability is symmetric
        target = expected[s] + offset
        atoms.info["dipole" if kind == "dipole" else "pol"] = target.reshape(-1)
        targets.append(target)
    return frames, targets


def _gpumd_order(values: np.ndarray) -> np.ndarray:
    """GPUMD's columns of a dipole (3) or polarizability (xx yy zz xy yz zx)."""
    return values if values.shape == (3,) else six_from_matrix(values, GPUMD_SIX)


def test_train_out_file_layout(case, tmp_path, capsys):
    kind, model, expected = case
    frames, targets = _with_targets(kind, expected)
    data, out = tmp_path / "data.xyz", tmp_path / "out"
    write(data, frames, format="extxyz")
    assert main(["predict", str(shared_models() / "tnep" / kind / "nep.txt"), str(data),
                 "-o", str(out), "--backend", "reference"]) == 0
    printed = capsys.readouterr().out
    # GPUMD's nep writes only this file for a TNEP model (docs/file-formats.md#gpumd-output-files)
    assert sorted(p.name for p in out.glob("*.out")) == [f"{kind}_train.out"]
    table = np.loadtxt(out / f"{kind}_train.out")
    n_columns = 3 if kind == "dipole" else 6
    assert table.shape == (4, 2 * n_columns)
    counts = [len(a) for a in frames]
    for s, (atoms_count, target) in enumerate(zip(counts, targets)):
        np.testing.assert_allclose(table[s, :n_columns], _gpumd_order(expected[s]) / atoms_count,
                                   rtol=PRINTED_RTOL, atol=0)
        if target is None:
            assert (table[s, n_columns:] == -1e6).all()  # absent target
        else:
            np.testing.assert_allclose(table[s, n_columns:], _gpumd_order(target) / atoms_count,
                                       rtol=PRINTED_RTOL, atol=0)
    # the reader gives the same columns back, the absent target as NaN
    read_back = read_outputs(out)
    np.testing.assert_array_equal(getattr(read_back, kind), table[:, :n_columns])
    assert np.isnan(getattr(read_back, f"{kind}_ref")[3]).all()
    assert read_back.energy is None
    # the RMSE over the three structures with targets, all components, per atom (GPUMD's unit):
    # the offsets the test chose; printed with 6 significant digits
    differences = np.concatenate([_gpumd_order(expected[s] - targets[s]) / counts[s] for s in range(3)])
    rmse = np.sqrt(np.mean(differences**2))
    row = next(line.split() for line in printed.splitlines() if line.split()[:2] == [kind, "all"])
    assert int(row[2]) == 3 * n_columns
    assert float(row[3]) == pytest.approx(rmse, rel=PRINTED_RTOL)
    assert (out / f"parity_{kind}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("precision, scaled_tolerance", [
    # float64 kernels vs numpy: the same math in another order (observed <= 6e-15 of the scale)
    ("float64", 1e-12),
    # float32 kernels, GPUMD's precision: float32 round-off (6e-8) of pair terms summed over the
    # molecule, relative to the tensor's largest entry (observed 1.1e-6 of 0.53, 1.2e-5 of 101)
    ("float32", 1e-5),
])
def test_kernel_backend_agrees_with_the_reference(case, precision, scaled_tolerance):
    kind, model, expected = case
    result = predict(model, structures(kind), backend="host", precision=precision, batch_size=2)
    assert result.backend == "host" and result.precision == precision
    np.testing.assert_allclose(getattr(result, kind), expected, rtol=0,
                               atol=scaled_tolerance * np.abs(expected).max())


@pytest.mark.parametrize("kind", KINDS)
def test_descriptor_file_of_a_tnep_model_matches_nep_cpu(kind, tmp_path):
    # NEP_CPU's find_descriptor on the shared molecule (scaled descriptors, to 1e-10); our file
    # prints them with %g (5e-6 relative), plus NEP_CPU's own 1e-10
    folder = shared_models() / "tnep" / kind
    out = tmp_path / "out"
    assert main(["predict", str(folder / "nep.txt"), str(folder / "structure.xyz"), "-o", str(out),
                 "--backend", "reference", "--descriptors", "--no-plots"]) == 0
    np.testing.assert_allclose(np.loadtxt(out / "descriptor.out"),
                               np.loadtxt(folder / "descriptor_golden.txt"), rtol=PRINTED_RTOL, atol=1e-10)
