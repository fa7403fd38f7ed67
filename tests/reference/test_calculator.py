"""NEPCalculator: the ASE contract on top of the reference backend.

Numbers are checked against the evaluator itself (same float64 sums, so
exact), against ASE's own numerical stress (finite strain, 1e-6 relative as
in test_finite_differences.py) and against GPUMD's nep_prediction energies.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.calculator import PropertyNotImplementedError
from ase.calculators.fd import calculate_numerical_stress
from ase.io import read

from conftest import shared_models
from gpunep import NEPCalculator
from gpunep.backends import get_backend
from gpunep.model import random_model, read_model
from gpunep.reference import evaluate
from gpunep.structures import pack
from reference_cases import run

MODEL = random_model(("Si", "C"), seed=31, n_neuron=8, l_max=(4, 2, 1), zbl=(0.8, 1.6))


def silicon_carbide() -> Atoms:
    atoms = bulk("SiC", "zincblende", 4.36) * (2, 1, 1)
    atoms.rattle(0.05, seed=1)
    atoms.cell[1] += [0.2, 0.0, 0.1]
    return atoms


def test_results_are_the_evaluators():
    atoms = silicon_carbide()
    atoms.calc = NEPCalculator(MODEL, backend="reference")
    result = run(MODEL, atoms)
    volume = atoms.get_volume()
    assert atoms.get_potential_energy() == result.energy[0]
    assert atoms.get_potential_energy(force_consistent=True) == result.energy[0]
    assert np.array_equal(atoms.get_potential_energies(), result.energies)
    assert np.array_equal(atoms.get_forces(), result.forces)
    w = -result.virial[0] / volume
    assert np.allclose(atoms.get_stress(), [w[0, 0], w[1, 1], w[2, 2], w[1, 2], w[0, 2], w[0, 1]],
                       rtol=0, atol=1e-15)
    stresses = atoms.get_stresses()
    assert stresses.shape == (len(atoms), 6)
    assert np.allclose(stresses.sum(axis=0), atoms.get_stress(), rtol=0, atol=1e-13)
    assert np.allclose(stresses[:, 0], -result.virials[:, 0, 0] / volume, rtol=0, atol=1e-15)


def test_stress_matches_ase_numerical_stress():
    atoms = silicon_carbide()
    atoms.calc = NEPCalculator(MODEL, backend="reference")
    analytic = atoms.get_stress()
    numeric = calculate_numerical_stress(atoms, eps=1e-5)   # ASE's O(eps^2) central differences
    assert np.abs(numeric - analytic).max() <= 1e-6 * np.abs(analytic).max()


def test_energy_per_atom_matches_gpumd_prediction():
    folder = shared_models() / "gpumd" / "nep_prediction"
    atoms = read(folder / "train.xyz", 3)
    atoms.calc = NEPCalculator(folder / "nep.txt", backend="reference")   # a path works as well as a Model
    reference = np.loadtxt(folder / "energy_train.out")[3, 0]
    assert abs(atoms.get_potential_energy() / len(atoms) - reference) <= 1e-5   # %g + float32


def test_no_stress_without_a_three_dimensional_cell():
    atoms = Atoms("SiC3", positions=[[0, 0, 0], [1.9, 0, 0], [0, 1.8, 0.2], [-0.3, 0.4, 1.7]])
    atoms.calc = NEPCalculator(MODEL, backend="reference")
    assert np.isfinite(atoms.get_potential_energy())
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()
    slab = silicon_carbide()
    slab.pbc = (True, True, False)
    slab.cell[2] = 0.0   # no third vector: cell rank 2
    slab.calc = NEPCalculator(MODEL, backend="reference")
    with pytest.raises(PropertyNotImplementedError, match="2 non-zero vectors"):
        slab.get_stresses()
    flat = silicon_carbide()
    flat.pbc = False
    flat.cell[2] = flat.cell[0] + flat.cell[1]   # three vectors, no volume
    flat.calc = NEPCalculator(MODEL, backend="reference")
    with pytest.raises(PropertyNotImplementedError, match="three-dimensional cell"):
        flat.get_stress()
    from gpunep import predict

    # predict agrees: no stress (NaN) where the calculator has none
    assert np.isnan(predict(MODEL, [atoms, slab, flat], backend="reference").stress).all()


@pytest.mark.parametrize("pbc", [(True, True, False), (False, False, False)])
def test_a_slab_or_molecule_in_a_three_dimensional_cell_has_a_stress(pbc):
    from gpunep import predict

    atoms = silicon_carbide()
    atoms.cell[2] *= 3.0   # vacuum along the third vector
    atoms.pbc = pbc
    atoms.calc = NEPCalculator(MODEL, backend="reference")
    analytic = atoms.get_stress()
    # a homogeneous strain moves every atom, so -W / V is dE/d(strain) / V whatever pbc says
    numeric = calculate_numerical_stress(atoms, eps=1e-5)   # ASE's O(eps^2) central differences
    assert np.abs(numeric - analytic).max() <= 1e-6 * np.abs(analytic).max()
    assert np.allclose(atoms.get_stresses().sum(axis=0), analytic, rtol=0, atol=1e-13)
    from_predict = predict(MODEL, atoms, backend="reference")
    np.testing.assert_allclose(from_predict.stress[0], analytic, rtol=0, atol=1e-12)


def test_recomputes_after_a_move():
    atoms = silicon_carbide()
    atoms.calc = NEPCalculator(MODEL, backend="reference")
    first = atoms.get_potential_energy()
    atoms.positions[0] += [0.05, 0.0, 0.0]
    assert atoms.get_potential_energy() != first
    assert atoms.get_potential_energy() == run(MODEL, atoms).energy[0]


def test_unknown_species_names_species_and_atom():
    atoms = silicon_carbide()
    atoms.symbols[3] = "Ge"
    atoms.calc = NEPCalculator(MODEL, backend="reference")
    with pytest.raises(ValueError, match=r"atom 3 is Ge"):
        atoms.get_potential_energy()


def test_non_finite_positions_and_cells_raise():
    atoms = silicon_carbide()
    atoms.positions[2, 1] = np.nan
    atoms.calc = NEPCalculator(MODEL, backend="reference")
    with pytest.raises(ValueError, match="atom 2"):
        atoms.get_forces()
    atoms = silicon_carbide()
    atoms.cell[0, 0] = np.inf
    atoms.calc = NEPCalculator(MODEL, backend="reference")
    with pytest.raises(ValueError, match="non-finite"):
        atoms.get_forces()


def test_degenerate_periodic_cell_raises():
    atoms = silicon_carbide()
    atoms.cell[2] = atoms.cell[0] + atoms.cell[1]
    atoms.calc = NEPCalculator(MODEL, backend="reference")
    with pytest.raises(ValueError, match="degenerate"):
        atoms.get_potential_energy()


def test_descriptors_are_scaled_and_per_atom():
    atoms = silicon_carbide()
    calc = NEPCalculator(MODEL, backend="reference")
    descriptors = calc.get_descriptors(atoms)
    assert descriptors.shape == (len(atoms), MODEL.n_descriptor)
    assert np.array_equal(descriptors, run(MODEL, atoms, descriptors=True).descriptors)


def test_descriptors_of_a_dipole_model():
    folder = shared_models() / "tnep" / "dipole"
    atoms = read(folder / "structure.xyz")
    calc = NEPCalculator(read_model(folder / "nep.txt"), backend="reference")
    assert np.abs(calc.get_descriptors(atoms) - np.loadtxt(folder / "descriptor_golden.txt")).max() <= 1e-10
    atoms.calc = calc
    # a dipole model's network output is not an energy (docs/tensors.md): ASE's "not implemented"
    with pytest.raises(PropertyNotImplementedError, match="dipole"):
        atoms.get_potential_energy()


def test_backend_selection():
    # the default is 'auto': the kernels (host here, without a GPU) in GPUMD's float32
    default = NEPCalculator(MODEL).backend
    assert default.name in ("cuda", "host") and default.precision == "float32"
    assert get_backend(MODEL, "reference", "float64").precision == "float64"
    with pytest.raises(ValueError, match="float64 only"):
        NEPCalculator(MODEL, backend="reference", precision="float32")
    with pytest.raises(ValueError, match="unknown backend"):
        NEPCalculator(MODEL, backend="tpu")


# ------------------------------------------------------------ charge and tensor models

CHARGE_MODEL = random_model(("Si", "C"), model_type="potential_with_charges", charge_mode=1,
                            seed=32, n_neuron=8, cutoff=(5.0, 4.0), l_max=(4, 2, 0))


def test_properties_depend_on_the_model_type():
    assert "charges" not in NEPCalculator(MODEL, backend="reference").implemented_properties
    charged = NEPCalculator(CHARGE_MODEL, backend="reference").implemented_properties
    assert {"energy", "forces", "stress", "charges", "bec", "born_effective_charges"} <= set(charged)
    for kind in ("dipole", "polarizability"):
        model = random_model(("Si", "C"), model_type=kind, seed=33)
        assert NEPCalculator(model, backend="reference").implemented_properties == [kind]


def test_charge_model_results_are_the_evaluators():
    atoms = silicon_carbide()
    atoms.info["charge"] = 0.5
    calc = NEPCalculator(CHARGE_MODEL, backend="reference")
    atoms.calc = calc
    result = run(CHARGE_MODEL, atoms)
    assert atoms.get_potential_energy() == result.energy[0]
    assert np.array_equal(atoms.get_forces(), result.forces)
    assert np.array_equal(atoms.get_charges(), result.charges)
    assert abs(atoms.get_charges().sum() - 0.5) <= 1e-12 * np.abs(result.charges).max()
    bec = calc.get_property("bec", atoms)
    assert bec.shape == (len(atoms), 3, 3) and np.array_equal(bec, result.bec)
    assert np.array_equal(calc.get_property("born_effective_charges", atoms), bec)


def test_charge_model_stress_matches_ase_numerical_stress():
    # the electrostatic virial included (1e-6 relative, as for potentials above)
    atoms = silicon_carbide()
    atoms.calc = NEPCalculator(CHARGE_MODEL, backend="reference")
    analytic = atoms.get_stress()
    numeric = calculate_numerical_stress(atoms, eps=1e-5)
    assert np.abs(numeric - analytic).max() <= 1e-6 * np.abs(analytic).max()


def test_charge_model_options_reach_the_evaluation():
    atoms = silicon_carbide()
    batch_result = evaluate(CHARGE_MODEL, pack(atoms, CHARGE_MODEL), kspace="converged",
                            mean_d_correction=False)
    atoms.calc = NEPCalculator(CHARGE_MODEL, backend="reference", kspace="converged",
                               mean_d_correction=False)
    assert np.array_equal(atoms.get_forces(), batch_result.forces)
    assert not np.array_equal(atoms.get_forces(), run(CHARGE_MODEL, atoms).forces)
    with pytest.raises(ValueError, match="kspace"):
        NEPCalculator(CHARGE_MODEL, kspace="pppm", backend="reference")


def test_charge_model_needs_full_periodicity():
    atoms = silicon_carbide()
    atoms.pbc = (True, False, True)
    atoms.calc = NEPCalculator(CHARGE_MODEL, backend="reference")
    with pytest.raises(ValueError, match="periodic in all three directions"):
        atoms.get_charges()


def test_charges_of_gpumd_charge_model_are_neutral():
    folder = shared_models() / "gpumd" / "qnep_train"
    atoms = read(folder / "train.xyz", 0)
    atoms.calc = NEPCalculator(folder / "nep.txt", mean_d_correction=False, backend="reference")
    raw = np.loadtxt(folder / "charge_train.out")[:len(atoms)]
    # charge_train.out is raw (docs/charges.md#neutralisation): ours are those shifted by one
    # constant
    shift = atoms.get_charges() - raw
    assert np.ptp(shift) <= 2e-5 and abs(atoms.get_charges().sum()) <= 1e-10   # %g + float32


@pytest.mark.parametrize("kind", ["dipole", "polarizability"])
def test_tensor_model_properties(kind):
    folder = shared_models() / "tnep" / kind
    model = read_model(folder / "nep.txt")
    atoms = read(folder / "structure.xyz")
    calc = NEPCalculator(model, backend="reference")
    atoms.calc = calc
    value = calc.get_property(kind, atoms)
    assert np.array_equal(value, getattr(evaluate(model, pack(atoms, model)), kind)[0])
    assert value.shape == ((3,) if kind == "dipole" else (3, 3))
    if kind == "dipole":
        assert np.array_equal(atoms.get_dipole_moment(), value)
    with pytest.raises(PropertyNotImplementedError, match=kind):
        atoms.get_forces()


# ------------------------------------------------------------------ descriptors
def test_descriptors_of_the_calculators_own_atoms_and_on_request():
    atoms = silicon_carbide()
    calc = NEPCalculator(MODEL, backend="reference")
    with pytest.raises(ValueError, match="get_descriptors\\(\\) needs atoms"):
        calc.get_descriptors()
    expected = get_backend(MODEL, "reference").compute_descriptors(pack(atoms, MODEL))
    atoms.calc = calc
    atoms.get_potential_energy()
    assert "descriptors" not in calc.results   # a plain calculation leaves them out
    assert np.array_equal(calc.get_descriptors(), expected)   # the calculator's atoms
    assert np.array_equal(calc.get_descriptors(atoms), expected)
    moved = atoms.copy()
    moved.positions[0, 0] += 0.1
    assert not np.array_equal(calc.get_descriptors(moved), expected)
    calc.calculate(atoms, properties=["energy", "descriptors"])
    assert np.array_equal(calc.results["descriptors"], expected)
    assert calc.results["energy"] == run(MODEL, atoms).energy[0]
