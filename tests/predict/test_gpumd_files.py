"""GPUMD's *_train.out files: our writer reproduces GPUMD's bytes, the reader reads them."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import shared_models
from gpunep.io.gpumd_files import FILES, read_outputs, write_table


def test_rewriting_gpumd_files_reproduces_their_bytes(tmp_path):
    # GPUMD prints every value with C's %g; values parsed from its files and
    # printed again with our writer must give the very same text.
    folder = shared_models() / "gpumd" / "nep_prediction"
    for name in FILES:
        rows = np.loadtxt(folder / name, ndmin=2)
        write_table(tmp_path / name, rows)
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes(), name


def test_reader_splits_prediction_and_reference():
    folder = shared_models() / "gpumd" / "nep_prediction"
    out = read_outputs(folder)
    energy = np.loadtxt(folder / "energy_train.out")
    np.testing.assert_array_equal(out.energy, energy[:, 0])
    np.testing.assert_array_equal(out.energy_ref, energy[:, 1])
    assert out.force.shape == out.force_ref.shape == (6250, 3)
    assert out.virial.shape == (25, 6)
    # train.xyz has no virial or stress: GPUMD wrote -1e6, read back as absent
    assert np.isnan(out.virial_ref).all() and np.isnan(out.stress_ref).all()
    assert np.isfinite(out.stress).all()


def test_reader_names_file_and_line_of_a_bad_row(tmp_path):
    (tmp_path / "energy_train.out").write_text("1 2\n3\n")
    with pytest.raises(ValueError, match=r"energy_train.out, line 2: 1 columns, expected 2"):
        read_outputs(tmp_path)
    with pytest.raises(FileNotFoundError, match="none of"):
        read_outputs(tmp_path / "missing")


def test_charge_model_files_read_and_rewrite():
    # GPUMD's qnep_train folder: charge_train.out has one column (raw charges, no reference)
    folder = shared_models() / "gpumd" / "qnep_train"
    out = read_outputs(folder)
    np.testing.assert_array_equal(out.charge, np.loadtxt(folder / "charge_train.out"))
    assert out.charge.shape == (6250,) and out.force.shape == (6250, 3)
    assert out.bec is None and out.dipole is None and out.polarizability is None


def test_charge_file_bytes_round_trip(tmp_path):
    folder = shared_models() / "gpumd" / "qnep_train"
    rows = np.loadtxt(folder / "charge_train.out", ndmin=2)
    write_table(tmp_path / "charge_train.out", rows)
    assert (tmp_path / "charge_train.out").read_bytes() == (folder / "charge_train.out").read_bytes()


def test_bec_rows_without_target_read_as_absent(tmp_path):
    # GPUMD writes 0 for all nine target components of an atom without a bec:R:9 target
    predicted = np.arange(27, dtype=np.float64).reshape(3, 9) / 8 - 1
    target = np.zeros((3, 9))
    target[1] = np.arange(9) + 0.5
    write_table(tmp_path / "bec_train.out", np.hstack([predicted, target]))
    out = read_outputs(tmp_path)
    np.testing.assert_array_equal(out.bec, predicted)
    assert np.isnan(out.bec_ref[[0, 2]]).all()
    np.testing.assert_array_equal(out.bec_ref[1], target[1])
    assert out.energy is None


def test_dipole_and_polarizability_files_need_their_column_counts(tmp_path):
    (tmp_path / "dipole_train.out").write_text("1 2 3 4 5 6\n1 2 3 4 5\n")
    with pytest.raises(ValueError, match=r"dipole_train.out, line 2: 5 columns, expected 6"):
        read_outputs(tmp_path)
    (tmp_path / "dipole_train.out").unlink()
    (tmp_path / "polarizability_train.out").write_text("1 2 3 4 5 6\n")
    with pytest.raises(ValueError, match=r"polarizability_train.out, line 1: 6 columns, expected 12"):
        read_outputs(tmp_path)
