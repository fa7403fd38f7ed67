"""GPUMD's *_train.out files: our writer reproduces GPUMD's bytes, the reader reads them."""

from __future__ import annotations

import numpy as np

from conftest import shared_models
from gpunep.gpumd_files import FILES, read_outputs, write_table


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
    import pytest

    (tmp_path / "energy_train.out").write_text("1 2\n3\n")
    with pytest.raises(ValueError, match=r"energy_train.out, line 2: 1 columns, expected 2"):
        read_outputs(tmp_path)
    with pytest.raises(FileNotFoundError, match="none of"):
        read_outputs(tmp_path / "missing")
