"""`gpunep compare` beyond potentials: charge models (charges and BEC compared too), a potential
against a charge model made from it, and dipole/polarizability models.

GPUMD ground truth: ../shared/models/gpumd/qnep_train, whose files predate GPUMD's mean-D
correction (compared with --no-mean-d-correction, docs/validation.md#charge-model-outputs).
To keep the numpy Ewald sums cheap, the data and GPUMD's files are cut to their first three
structures.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.io import read, write

from conftest import shared_models
from gpunep import read_model
from gpunep.cli import main
from gpunep.compare import compare
from gpunep.model import editing
from gpunep.properties import ROUND_OFF

N_STRUCTURES, N_ATOMS = 3, 250


@pytest.fixture(scope="module")
def qnep(tmp_path_factory):
    """qnep_train's model, its first three structures and GPUMD's files for them."""
    source = shared_models() / "gpumd" / "qnep_train"
    folder = tmp_path_factory.mktemp("qnep3")
    data = folder / "three.xyz"
    write(data, read(source / "train.xyz", f":{N_STRUCTURES}"), format="extxyz")
    gpumd = folder / "gpumd"
    gpumd.mkdir()
    for name, rows in (("energy_train.out", N_STRUCTURES), ("virial_train.out", N_STRUCTURES),
                       ("stress_train.out", N_STRUCTURES), ("force_train.out", N_STRUCTURES * N_ATOMS),
                       ("charge_train.out", N_STRUCTURES * N_ATOMS)):
        lines = (source / name).read_text().splitlines(keepends=True)
        (gpumd / name).write_text("".join(lines[:rows]))
    return source / "nep.txt", data, gpumd


def test_charge_model_against_itself_and_gpumd(qnep, capsys):
    model, data, gpumd = qnep
    code = main(["compare", str(model), str(model), str(data), "--gpumd-outputs", str(gpumd),
                 "--backend", "reference", "--no-mean-d-correction",
                 "--tolerance", "energy=0,force=0,virial=0,charge=0,bec=0"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.strip().splitlines()[-1].startswith("VERDICT: PASS")
    result = compare(model, model, data, backend="reference", gpumd_outputs=gpumd,
                     mean_d_correction=False)
    assert result.a_vs_b.properties == ["energy", "force", "virial", "charge", "bec"]
    for prop in result.a_vs_b.properties:
        assert result.max_difference(prop) == 0.0  # the same deterministic float64 evaluation
    # GPUMD's float32 %g files, the tolerances (see test_predict_charges_cli.py)
    assert result.a_vs_gpumd.properties == ["energy", "force", "virial", "charge"]
    assert result.a_vs_gpumd.max_abs("energy") <= 1e-5
    assert result.a_vs_gpumd.max_abs("force") <= 5e-5
    assert result.a_vs_gpumd.max_abs("virial") <= 5e-5
    assert result.a_vs_gpumd.max_abs("charge") <= 1e-5
    assert result.gpumd_reference_mismatch == {"energy": 0.0, "force": 0.0}
    # with GPUMD's current chain rule (the default) the old files' forces are off by ~1e-3
    corrected = compare(model, model, data, backend="reference", gpumd_outputs=gpumd)
    assert corrected.a_vs_gpumd.max_abs("force") > 1e-4
    assert corrected.a_vs_gpumd.max_abs("charge") <= 1e-5  # the charges do not depend on it


def test_changed_charges_fail_a_charge_tolerance(qnep, tmp_path, capsys):
    model_file, data, _ = qnep
    original = read_model(model_file)
    changed = original.copy()
    changed.ann_parameters["Te"]["w1_charge"] = 1.01 * changed.ann_parameters["Te"]["w1_charge"]
    changed_file = tmp_path / "changed.txt"
    changed.write(str(changed_file))
    result = compare(original, changed_file, data, backend="reference")
    # a 1% change of the Te charge head: Te charges (~0.1-0.5 e) move by ~1e-3 e
    assert result.max_difference("charge") > 1e-4
    code = main(["compare", str(model_file), str(changed_file), str(data), "--backend", "reference",
                 "--tolerance", "charge=1e-6"])
    verdict = capsys.readouterr().out.strip().splitlines()[-1]
    assert code == 1
    assert verdict.startswith("VERDICT: FAIL: charge max |A-B|") and "> tolerance 1e-06 e" in verdict


def test_potential_against_its_charge_head_augment():
    # augment(charge_head=True) starts the charge head at w1_charge = 0: every charge is 0, so
    # the Coulomb terms vanish and the model predicts what the potential does; compared on
    # what both give (energy, force, virial), to float64 round-off
    folder = shared_models() / "gpumd" / "nep_prediction"
    potential = read_model(folder / "nep.txt")
    charged = editing.augment(potential, charge_head=True)
    assert charged.model_type == "potential_with_charges"
    structures = read(folder / "train.xyz", ":2")
    result = compare(potential, charged, structures, backend="reference")
    assert result.a_vs_b.properties == ["energy", "force", "virial"]
    for prop in result.a_vs_b.properties:
        assert result.max_difference(prop) <= ROUND_OFF["float64"][prop]
    assert np.all(result.b.raw_charges == 0.0)


def test_dipole_and_polarizability_models(tmp_path, capsys):
    root = shared_models() / "tnep"
    dipole, polarizability = root / "dipole" / "nep.txt", root / "polarizability" / "nep.txt"
    data = root / "dipole" / "structure.xyz"
    result = compare(dipole, dipole, data, backend="reference")
    assert result.a_vs_b.properties == ["dipole"] and result.max_difference("dipole") == 0.0
    # a changed network: the dipole of the molecule changes, and the tolerance catches it
    changed = read_model(dipole)
    changed.ann_parameters["C"]["w1"] = 1.05 * changed.ann_parameters["C"]["w1"]
    changed_file = tmp_path / "changed.txt"
    changed.write(str(changed_file))
    code = main(["compare", str(dipole), str(changed_file), str(data), "--backend", "reference",
                 "--tolerance", "dipole=1e-9"])
    verdict = capsys.readouterr().out.strip().splitlines()[-1]
    assert code == 1 and verdict.startswith("VERDICT: FAIL: dipole max |A-B|")
    # a dipole model and a polarizability model share no property
    with pytest.raises(ValueError, match="nothing to compare: A is a 'dipole' model"):
        compare(dipole, polarizability, data, backend="reference")
