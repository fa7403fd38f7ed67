"""PredictionResult.to_atoms() and train.xyz: the structures with their predictions and references.

Oracles: NEPCalculator on each structure alone (the calculator's numbers,
checked elsewhere against the reference and GPUMD) for the calculator
results; the result's own columns (GPUMD's files' values) for the parity
keys, re-ordered by hand to ASE's Voigt order; and the data set itself for
train.xyz, read back by gpunep's extxyz reader.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.calculators.singlepoint import SinglePointCalculator

from gpunep import NEPCalculator, random_model
from gpunep.io.gpumd_files import write_prediction
from gpunep.prediction import predict

MODEL = random_model(("Si", "C", "H"), cutoff=(5.0, 4.0), n_neuron=6, seed=12)
CHARGE_MODEL = random_model(("Si", "C"), model_type="potential_with_charges", charge_mode=2,
                            cutoff=(5.0, 4.0), n_neuron=5, seed=13)


def labelled(atoms: Atoms, seed: int, config_type: str = "bulk") -> Atoms:
    """``atoms`` with made-up reference energy, forces and (with a cell) stress, GPUMD-style."""
    rng = np.random.default_rng(seed)
    stress = {"stress": rng.normal(size=6) * 1e-2} if atoms.cell.rank == 3 else {}
    atoms.calc = SinglePointCalculator(atoms, energy=-3.0 * len(atoms),
                                       forces=rng.normal(size=(len(atoms), 3)), **stress)
    atoms.info["config_type"] = config_type
    return atoms


def data() -> list[Atoms]:
    sic = bulk("SiC", "zincblende", 4.36, cubic=True)
    sic.rattle(0.05, seed=1)
    slab = bulk("Si", "diamond", 5.43, cubic=True)
    slab.pbc = (True, True, False)
    slab.center(vacuum=3.0, axis=2)
    slab.rattle(0.05, seed=2)
    methane = molecule("CH4")   # no cell: no stress, NaN in the stress columns
    methane.positions *= 1.1
    return [labelled(sic, 1), labelled(slab, 2, "slab"), labelled(methane, 3, "molecule")]


@pytest.fixture(scope="module")
def result():
    return predict(MODEL, data(), backend="reference", progress=False)


def test_to_atoms_carries_the_calculators_numbers(result):
    calc = NEPCalculator(MODEL, backend="reference")
    for original, atoms in zip(data(), result.to_atoms()):
        assert atoms.get_chemical_symbols() == original.get_chemical_symbols()
        assert np.array_equal(atoms.cell[:], original.cell[:]) and (atoms.pbc == original.pbc).all()
        assert atoms.info["config_type"] == original.info["config_type"]
        original.calc = calc
        assert atoms.get_potential_energy() == pytest.approx(original.get_potential_energy(),
                                                             rel=0, abs=1e-10)
        assert np.allclose(atoms.get_forces(), original.get_forces(), rtol=0, atol=1e-10)
        if original.cell.rank == 3:
            assert np.allclose(atoms.get_stress(), original.get_stress(), rtol=0, atol=1e-12)
        else:
            assert "stress" not in atoms.calc.results


def test_parity_keys_are_the_columns_in_ase_order(result):
    predicted, target = result.columns(), result.reference_columns()
    structures = result.to_atoms()
    voigt_from_gpumd = [0, 1, 2, 4, 5, 3]   # GPUMD xx yy zz xy yz zx -> ASE xx yy zz yz xz xy
    for s, atoms in enumerate(structures):
        rows = result.structure_slice(s)
        assert atoms.info["energy_predicted"].shape == (1,)
        assert atoms.info["energy_predicted"][0] == predicted["energy"][s]
        assert atoms.info["energy_target"][0] == target["energy"][s]
        assert np.array_equal(atoms.arrays["force_predicted"], predicted["force"][rows])
        assert np.array_equal(atoms.arrays["force_target"], target["force"][rows])
        for name in ("virial", "stress"):
            assert np.array_equal(atoms.info[f"{name}_predicted"],
                                  predicted[name][s, voigt_from_gpumd], equal_nan=True)
            assert np.array_equal(atoms.info[f"{name}_target"], target[name][s, voigt_from_gpumd],
                                  equal_nan=True)
    # ASE order: the stress key is W / V in GPa, minus ASE's stress (eV/Å³)
    assert np.allclose(structures[0].info["stress_predicted"] / 160.2177,
                       -structures[0].get_stress(), rtol=1e-12, atol=0)


def test_charge_models_add_charges_and_bec():
    bulk_si = bulk("Si", "diamond", 5.43, cubic=True)
    bulk_si.rattle(0.05, seed=4)
    structures = [data()[0], labelled(bulk_si, 4)]   # charge models need 3D-periodic cells
    result = predict(CHARGE_MODEL, structures, backend="reference", progress=False)
    atoms = result.to_atoms()[1]
    rows = result.structure_slice(1)
    assert np.array_equal(atoms.get_charges(), result.charges[rows])
    assert np.array_equal(atoms.arrays["charge_predicted"][:, 0], result.raw_charges[rows])
    assert "charge_target" not in atoms.arrays
    assert np.array_equal(atoms.calc.get_property("born_effective_charges"), result.bec[rows])
    assert atoms.arrays["bec_predicted"].shape == (len(atoms), 9)
    assert np.isnan(atoms.arrays["bec_target"]).all()   # the data set has no BEC targets


def test_train_xyz_holds_the_data_set_as_gpumd_reads_it(result, tmp_path):
    written = write_prediction(result, tmp_path)
    assert tmp_path / "train.xyz" in written
    again = predict(MODEL, tmp_path / "train.xyz", backend="reference", progress=False)
    assert again.config_types == result.config_types
    for name in ("energy", "forces", "virial"):
        # extxyz keeps about 8 decimals of the made-up references
        assert np.allclose(getattr(again.reference, name), getattr(result.reference, name),
                           rtol=0, atol=1e-7, equal_nan=True)
        # positions too: the predictions follow them to ~1e-7
        assert np.allclose(getattr(again, name), getattr(result, name), rtol=0, atol=1e-6)
