"""calorine as a peer and as a user's toolbox: its CPUNEP numbers, its models, its readers.

Oracles: calorine's CPUNEP (NEP_CPU, an independent double-precision C++
implementation) on real models; gpunep's own path from the nep.txt file
for a calorine Model; calorine's ``get_parity_data`` and
``read_structures`` reading what gpunep wrote.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read

from conftest import shared_file, shared_models
from gpunep import NEPCalculator, predict, random_model
from gpunep.cli import main
from gpunep.compare import compare

calorine_nep = pytest.importorskip("calorine.nep", reason="calorine not installed (the test extra)")
from calorine.calculators import CPUNEP  # noqa: E402

# The bar for float64 agreement with NEP_CPU; measured here: energies 3e-15 eV/atom,
# forces 7e-14 eV/Å, stresses 1.4e-15 eV/Å³ (round-off of two double implementations).
CPUNEP_TOLERANCE = 1e-10


def _metals() -> list[Atoms]:
    atoms = bulk("Cu", "fcc", 3.7, cubic=True) * (2, 2, 2)
    atoms.symbols[::3] = "Ag"
    atoms.symbols[1::5] = "W"
    atoms.rattle(0.08, seed=5)
    return [atoms]


def _te_pb() -> list[Atoms]:
    return read(shared_file("gpumd/nep_prediction/train.xyz"), index="0:2")


def _batio3() -> list[Atoms]:
    atoms = read(shared_file("gpumd/tests_pytest/structures/BaTiO3-nat40-rattled.xyz"))
    atoms.calc = None
    return [atoms]


@pytest.mark.parametrize("model, structures", [
    ("gpumd/nep_prediction/nep.txt", _te_pb),
    ("gpumd/potentials/Song-2024-UNEP-v1-AgAlAuCrCuMgMoNiPbPdPtTaTiVWZr.txt", _metals),
    ("gpumd/tests_pytest/models/nep_BaTiO3.txt", _batio3),
], ids=["PbTe", "UNEP_zbl", "BaTiO3_zbl"])
def test_energies_forces_stresses_equal_calorines_cpunep(model, structures):
    path = str(shared_file(model))
    ours = NEPCalculator(path, backend="host", precision="float64")
    for atoms in structures():
        atoms.calc = CPUNEP(path)
        theirs = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        atoms.calc = ours
        assert abs(atoms.get_potential_energy() - theirs[0]) / len(atoms) <= CPUNEP_TOLERANCE
        assert np.abs(atoms.get_forces() - theirs[1]).max() <= CPUNEP_TOLERANCE
        assert np.abs(atoms.get_stress() - theirs[2]).max() <= CPUNEP_TOLERANCE


def _random_model_file(tmp_path):
    path = tmp_path / "nep.txt"
    random_model(("Si", "C"), cutoff=(5.0, 4.0), n_neuron=6, zbl=(1.0, 2.0), seed=21).write(str(path))
    return str(path)


def _c_2022(tmp_path):
    return str(shared_file("gpumd/potentials/C_2022_NEP4.txt"))


@pytest.mark.parametrize("model_file", [_random_model_file, _c_2022], ids=["random_SiC", "C_2022"])
def test_a_calorine_model_gives_the_numbers_of_its_file(model_file, tmp_path):
    path = model_file(tmp_path)
    theirs = calorine_nep.read_model(path)
    atoms = bulk("C", "diamond", 3.567, cubic=True) * (2, 1, 1)
    if "Si" in theirs.types:
        atoms.symbols[::2] = "Si"
    atoms.rattle(0.05, seed=2)
    results = []
    for model in (path, theirs):
        atoms.calc = NEPCalculator(model, backend="reference")
        results.append((atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()))
    assert results[0][0] == results[1][0]
    assert np.array_equal(results[0][1], results[1][1])
    assert np.array_equal(results[0][2], results[1][2])


def labelled_data() -> list[Atoms]:
    structures = []
    for seed in range(3):
        atoms = bulk("SiC", "zincblende", 4.36, cubic=True)
        atoms.rattle(0.05, seed=seed)
        rng = np.random.default_rng(seed)
        atoms.calc = SinglePointCalculator(atoms, energy=-4.0 * len(atoms) + rng.normal(),
                                           forces=rng.normal(size=(len(atoms), 3)),
                                           stress=rng.normal(size=6) * 1e-2)
        atoms.info["config_type"] = f"seed{seed}"
        structures.append(atoms)
    return structures


def test_predict_and_compare_take_a_calorine_model(tmp_path):
    path = _random_model_file(tmp_path)
    theirs = calorine_nep.read_model(path)
    from_file = predict(path, labelled_data(), backend="reference", progress=False)
    from_calorine = predict(theirs, labelled_data(), backend="reference", progress=False)
    assert np.array_equal(from_file.energy, from_calorine.energy)
    assert np.array_equal(from_file.forces, from_calorine.forces)
    comparison = compare(theirs, path, labelled_data(), backend="reference", progress=False)
    assert comparison.verdict() == "VERDICT: A and B give identical predictions (max |A-B| = 0)"


@pytest.mark.parametrize("prop", ["energy", "force", "virial"])
def test_calorines_parity_data_of_to_atoms_has_the_results_rmse(prop, tmp_path):
    result = predict(_random_model_file(tmp_path), labelled_data(), backend="reference",
                     progress=False)
    parity = calorine_nep.get_parity_data(result.to_atoms(), prop)
    difference = (parity.predicted - parity.target).to_numpy()
    assert difference.size == {"energy": 3, "force": 3 * 24, "virial": 3 * 6}[prop]
    # the same numbers squared and averaged in another order: round-off only
    assert np.sqrt(np.mean(difference**2)) == pytest.approx(result.rmse().rmse(prop), rel=1e-12)


@pytest.mark.parametrize("model_type", ["potential", "potential_with_charges"])
def test_calorine_reads_a_gpunep_predict_folder(model_type, tmp_path):
    model = tmp_path / "nep.txt"
    options = dict(model_type=model_type, charge_mode=2) if model_type != "potential" else {}
    random_model(("Si", "C"), cutoff=(5.0, 4.0), n_neuron=5, seed=22, **options).write(str(model))
    data = tmp_path / "data.xyz"
    from ase.io import write

    write(data, labelled_data(), format="extxyz")
    assert main(["predict", str(model), str(data), "-o", str(tmp_path / "out"),
                 "--backend", "reference", "--no-plots"]) == 0
    train, test = calorine_nep.read_structures(str(tmp_path / "out"))
    assert test == [] and len(train) == 3
    expected = predict(str(model), str(data), backend="reference", progress=False).to_atoms()
    # the *_train.out files hold GPUMD's %g: six significant digits
    for theirs, ours in zip(train, expected):
        assert theirs.get_chemical_symbols() == ours.get_chemical_symbols()
        for key in [k for k in ours.info if k.endswith(("_predicted", "_target"))]:
            assert np.allclose(theirs.info[key], ours.info[key], rtol=1e-5, atol=1e-6), key
        for key in [k for k in ours.arrays if k.endswith(("_predicted", "_target"))]:
            if key.startswith("bec_"):
                # no BEC targets in the data: calorine turns predictions and targets into NaN
                assert np.isnan(theirs.arrays[key]).all()
                continue
            assert np.allclose(theirs.arrays[key], ours.arrays[key], rtol=1e-5, atol=1e-6), key
