"""Reading reference values from extxyz with GPUMD's conventions (gpunep.io.extxyz)."""

from __future__ import annotations

import numpy as np
import pytest

from gpunep.io.extxyz import (
    iter_labelled,
    iter_structures,
    reference_of,
)
from gpunep.properties import GPUMD_SIX, VOIGT_SIX, six_from_matrix, symmetric_from_six

CELL = np.array([[5.0, 0.0, 0.0], [1.0, 6.0, 0.0], [0.5, 0.7, 7.0]])  # volume = 210 Å³
# A symmetric virial with distinct entries, so any mix-up of components shows.
W = np.array([[1.0, 0.2, 0.3], [0.2, 2.0, 0.6], [0.3, 0.6, 3.0]])


def _frame(comment: str, with_forces: str | None = "force") -> str:
    lattice = " ".join(f"{x:g}" for x in CELL.reshape(-1))
    props = "species:S:1:pos:R:3" + (f":{with_forces}:R:3" if with_forces else "")
    rows = ["Te 0 0 0" + (" 0.1 0.2 0.3" if with_forces else ""),
            "Pb 1 1 1" + (" -0.1 -0.2 -0.3" if with_forces else "")]
    return "\n".join(["2", f'{comment} Lattice="{lattice}" Properties={props}', *rows]) + "\n"


def _numbers(values) -> str:
    return " ".join(repr(float(v)) for v in values)


def test_six_component_orders_match_their_definitions():
    # GPUMD's order is xx yy zz xy yz zx (docs/file-formats.md#extended-xyz-data-sets); ASE's Voigt
    # xx yy zz yz xz xy.
    assert six_from_matrix(W, GPUMD_SIX).tolist() == [1.0, 2.0, 3.0, 0.2, 0.6, 0.3]
    assert six_from_matrix(W, VOIGT_SIX).tolist() == [1.0, 2.0, 3.0, 0.6, 0.3, 0.2]
    np.testing.assert_array_equal(symmetric_from_six(six_from_matrix(W, GPUMD_SIX), GPUMD_SIX), W)


@pytest.mark.parametrize("key, values", [
    ("virial", W.reshape(-1)),                                  # GPUMD: total virial, 9 comps
    ("virial", six_from_matrix(W, GPUMD_SIX)),                  # GPUMD: 6 comps
    ("stress", (-W / 210.0).reshape(-1)),                       # ASE sign: stress = -W / V
    ("stress", six_from_matrix(-W / 210.0, VOIGT_SIX)),         # ASE Voigt, 6 comps
])
def test_virial_and_stress_give_the_gpumd_virial(tmp_path, key, values):
    path = tmp_path / "data.xyz"
    path.write_text(_frame(f'energy=-3.5 {key}="{_numbers(values)}" config_type=slab'))
    (atoms,) = list(iter_structures(path))
    ref = reference_of(atoms)
    assert np.linalg.det(CELL) == pytest.approx(210.0)
    # exact up to the float round trip of V (only the stress path multiplies by it)
    np.testing.assert_allclose(ref.virial, W, rtol=1e-14, atol=1e-15)
    assert ref.energy == -3.5
    assert ref.config_type == "slab"
    np.testing.assert_array_equal(ref.forces, [[0.1, 0.2, 0.3], [-0.1, -0.2, -0.3]])


@pytest.mark.parametrize("name", ["force", "forces"])
def test_force_array_under_either_name(tmp_path, name):
    path = tmp_path / "data.xyz"
    path.write_text(_frame("energy=1.0 charge=-2", with_forces=name))
    ref = reference_of(next(iter_structures(path)))
    np.testing.assert_array_equal(ref.forces, [[0.1, 0.2, 0.3], [-0.1, -0.2, -0.3]])
    assert ref.charge == -2.0
    assert np.isnan(ref.virial).all()


def test_absent_references_are_nan(tmp_path):
    path = tmp_path / "data.xyz"
    path.write_text(_frame("", with_forces=None))
    ref = reference_of(next(iter_structures(path)))
    assert np.isnan(ref.energy) and np.isnan(ref.forces).all() and np.isnan(ref.virial).all()
    assert ref.config_type == "" and np.isnan(ref.charge)


def test_non_finite_reference_names_file_frame_and_line(tmp_path):
    path = tmp_path / "data.xyz"
    path.write_text(_frame("energy=1.0") + _frame("energy=nan"))
    labelled = list(iter_labelled(path))
    assert labelled[1][0] == f"{path}, frame 1 (line 5)"
    with pytest.raises(ValueError, match=r"frame 1 \(line 5\): energy is nan"):
        reference_of(labelled[1][1], labelled[1][0])


def test_truncated_frame_names_the_line(tmp_path):
    path = tmp_path / "data.xyz"
    path.write_text(_frame("energy=1.0") + "3\nenergy=2\nTe 0 0 0\n")
    with pytest.raises(ValueError, match=r"line 5: frame 1 is truncated"):
        list(iter_structures(path))


def test_gpumd_train_xyz_matches_a_plain_ase_read():
    from conftest import shared_file

    import ase.io

    path = shared_file("gpumd/nep_prediction/train.xyz")
    ours = list(iter_structures(path))
    theirs = ase.io.read(path, ":")
    assert len(ours) == len(theirs) == 25
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.positions, b.positions)
        ref = reference_of(a)
        assert ref.energy == b.get_potential_energy()
        np.testing.assert_array_equal(ref.forces, b.arrays["force"])
        assert ref.config_type == "nep2xyz"


# A symmetric polarizability and a non-symmetric BEC pair, so any mix-up of components shows.
POL = np.array([[10.0, 0.5, 0.25], [0.5, 20.0, 0.75], [0.25, 0.75, 30.0]])
BEC = np.arange(18, dtype=np.float64).reshape(2, 3, 3) / 4 - 2


def _tensor_frame(comment: str) -> str:
    """Two atoms with per-atom bec:R:9 targets (row-major 11 12 13 21 ... 33, GPUMD's order)."""
    lattice = " ".join(f"{x:g}" for x in CELL.reshape(-1))
    rows = [f"{symbol} {i} {i} {i} {_numbers(BEC[i].reshape(-1))}" for i, symbol in enumerate(["Te", "Pb"])]
    return "\n".join(["2", f'{comment} Lattice="{lattice}" Properties=species:S:1:pos:R:3:bec:R:9',
                      *rows]) + "\n"


@pytest.mark.parametrize("pol", [POL.reshape(-1), six_from_matrix(POL, GPUMD_SIX)])
def test_dipole_polarizability_and_bec_targets(tmp_path, pol):
    # dipole= (3), pol= (9 row-major, or 6 in GPUMD's xx yy zz xy yz zx), bec:R:9 per atom
    path = tmp_path / "data.xyz"
    path.write_text(_tensor_frame(f'dipole="0.5 -1.5 2.5" pol="{_numbers(pol)}"'))
    ref = reference_of(next(iter_structures(path)))
    np.testing.assert_array_equal(ref.dipole, [0.5, -1.5, 2.5])
    np.testing.assert_array_equal(ref.polarizability, POL)
    np.testing.assert_array_equal(ref.bec, BEC)


def test_absent_tensor_targets_are_nan(tmp_path):
    path = tmp_path / "data.xyz"
    path.write_text(_frame("energy=1.0"))
    ref = reference_of(next(iter_structures(path)))
    assert ref.dipole.shape == (3,) and np.isnan(ref.dipole).all()
    assert ref.polarizability.shape == (3, 3) and np.isnan(ref.polarizability).all()
    assert ref.bec.shape == (2, 3, 3) and np.isnan(ref.bec).all()


@pytest.mark.parametrize("comment, message", [
    ('dipole="1 2"', "dipole has 2 components, expected 3"),
    ('pol="1 2 3 4"', "pol has 4 components, expected 6 or 9"),
    ('dipole="1 nan 2"', "dipole has a non-finite value at"),
])
def test_bad_tensor_targets_name_the_frame(tmp_path, comment, message):
    path = tmp_path / "data.xyz"
    path.write_text(_frame("energy=1.0") + _frame(comment))
    label, atoms = list(iter_labelled(path))[1]
    with pytest.raises(ValueError, match=rf"frame 1 \(line 5\): {message}"):
        reference_of(atoms, label)
