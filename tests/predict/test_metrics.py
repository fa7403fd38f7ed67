"""RMSE tables (gpunep.metrics) against direct numpy computations."""

from __future__ import annotations

import numpy as np
import pytest

from gpunep.metrics import error_table


def _data():
    rng = np.random.default_rng(7)
    offsets = np.array([0, 3, 5, 9])            # 3 structures of 3, 2, 4 atoms
    species = np.array(["Te", "Pb", "Te", "Te", "Te", "Pb", "Pb", "Si", "Te"])
    config = ["bulk", "slab", "bulk"]
    pred = {"energy": rng.normal(size=3), "force": rng.normal(size=(9, 3)), "virial": rng.normal(size=(3, 6))}
    ref = {k: v + rng.normal(scale=0.1, size=v.shape) for k, v in pred.items()}
    return pred, ref, species, offsets, config


def test_overall_rows_equal_numpy():
    pred, ref, species, offsets, config = _data()
    table = error_table(pred, ref, species, offsets, config)
    for prop in ("energy", "force", "virial"):
        diff = (pred[prop] - ref[prop]).reshape(-1)
        assert table.rmse(prop) == pytest.approx(np.sqrt(np.mean(diff**2)), rel=1e-15)
        assert table.max_abs(prop) == np.abs(diff).max()
        assert table.row(prop).count == diff.size


def test_species_and_config_type_groups():
    pred, ref, species, offsets, config = _data()
    table = error_table(pred, ref, species, offsets, config)
    # per-atom property: the atoms of the species
    d = pred["force"][species == "Pb"] - ref["force"][species == "Pb"]
    assert table.rmse("force", species="Pb") == pytest.approx(np.sqrt(np.mean(d**2)), rel=1e-15)
    # per-structure property: the structures containing the species (Si only in structure 2)
    d = pred["energy"][2] - ref["energy"][2]
    assert table.rmse("energy", species="Si") == pytest.approx(abs(d), rel=1e-15)
    # config_type: structures 0 and 2; their atoms for forces
    d = pred["virial"][[0, 2]] - ref["virial"][[0, 2]]
    assert table.rmse("virial", config_type="bulk") == pytest.approx(np.sqrt(np.mean(d**2)), rel=1e-15)
    atoms = np.r_[0:3, 5:9]
    d = pred["force"][atoms] - ref["force"][atoms]
    assert table.rmse("force", config_type="bulk") == pytest.approx(np.sqrt(np.mean(d**2)), rel=1e-15)
    assert table["force"] == table.rmse("force")


def test_absent_references_are_left_out():
    pred, ref, species, offsets, config = _data()
    ref["energy"][1] = np.nan
    ref["force"][4] = np.nan
    ref["virial"][:] = np.nan
    table = error_table(pred, ref, species, offsets, config)
    d = (pred["energy"] - ref["energy"])[[0, 2]]
    assert table.rmse("energy") == pytest.approx(np.sqrt(np.mean(d**2)), rel=1e-15)
    assert table.row("force").count == 8 * 3
    assert "virial" not in table.properties
    with pytest.raises(KeyError, match="no 'energy' row for config_type 'slab'"):
        table.row("energy", config_type="slab")  # its only structure has no reference energy
    text = table.format()
    assert "meV/atom" in text and "meV/Å" in text and "virial" not in text


def test_rows_equal_to_all_are_kept_but_not_printed():
    pred, ref, species, offsets, config = _data()
    table = error_table(pred, ref, species, offsets, ["bulk"] * 3)
    # Te is in every structure, so its energy row is the 'all' row
    assert table.rmse("energy", species="Te") == table.rmse("energy")
    assert table.rmse("force", config_type="bulk") == table.rmse("force")
    text = table.format()
    assert "species Te" in text  # the force row of Te differs from all atoms' row
    assert "config_type bulk" not in text
    assert "rows equal to their 'all' row not shown" in text
