"""gpunep.evaluate: arrays in, arrays of the same library out, equal to the calculator's numbers.

The existing path (NEPCalculator, or pack + Backend.evaluate) is the
oracle: evaluate packs the same wrapped float64 positions into the same
batch, so its numbers must be bitwise equal to it, for numpy and torch
inputs alike. The calculator itself is checked against the reference, GPUMD
and finite differences elsewhere (tests/reference/test_calculator.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.stress import full_3x3_to_voigt_6_stress

import gpunep
from gpunep import NEPCalculator
from gpunep.backends import get_backend
from gpunep.model import random_model
from gpunep.structures import pack

MODEL = random_model(("Si", "C"), seed=31, n_neuron=8, l_max=(4, 2, 1), zbl=(0.8, 1.6))
CHARGE_MODEL = random_model(("Si", "C"), model_type="potential_with_charges", charge_mode=1,
                            seed=7, n_neuron=6)
ALL = ("energy", "forces", "stress", "energies", "stresses")


def silicon_carbide(seed: int = 1, repeat: tuple[int, int, int] = (2, 1, 1)) -> Atoms:
    atoms = bulk("SiC", "zincblende", 4.36) * repeat
    atoms.rattle(0.05, seed=seed)
    atoms.cell[1] += [0.2, 0.0, 0.1]
    atoms.positions[0] += atoms.cell[0] * 3   # outside the cell: wrapped exactly, as by pack
    return atoms


def calculator_results(atoms: Atoms, calc: NEPCalculator) -> dict[str, np.ndarray]:
    atoms = atoms.copy()
    atoms.calc = calc
    return {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(),
            "stress": atoms.get_stress(), "energies": atoms.get_potential_energies(),
            "stresses": atoms.get_stresses()}


def assert_equals_calculator(results: dict, expected: dict, system: int = 0,
                             atoms: slice = slice(None)) -> None:
    """Bitwise equality of evaluate's (3x3) results with the calculator's (Voigt) ones."""
    as_numpy = {k: np.asarray(v) for k, v in results.items()}
    assert as_numpy["energy"][system] == expected["energy"]
    assert np.array_equal(as_numpy["forces"][atoms], expected["forces"])
    assert np.array_equal(full_3x3_to_voigt_6_stress(as_numpy["stress"][system]), expected["stress"])
    assert np.array_equal(as_numpy["energies"][atoms], expected["energies"])
    assert np.array_equal(full_3x3_to_voigt_6_stress(as_numpy["stresses"][atoms]), expected["stresses"])


@pytest.mark.parametrize("backend", ["reference", "host"])
def test_numpy_in_numpy_out_equals_the_calculator_bitwise(backend):
    atoms = silicon_carbide()
    engine = get_backend(MODEL, backend, "float64")
    results = gpunep.evaluate(engine, atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc,
                              properties=ALL)
    assert all(type(v) is np.ndarray and v.dtype == np.float64 for v in results.values())
    assert results["energy"].shape == (1,) and results["stress"].shape == (1, 3, 3)
    assert results["stresses"].shape == (len(atoms), 3, 3)
    expected = calculator_results(atoms, NEPCalculator(MODEL, backend=backend, precision="float64"))
    assert_equals_calculator(results, expected)


def test_two_systems_equal_two_calculator_results():
    first, second = silicon_carbide(1), silicon_carbide(2, repeat=(1, 2, 1))
    second.pbc = (True, True, False)   # pbc per system
    engine = get_backend(MODEL, "reference")
    both = [first, second]
    results = gpunep.evaluate(
        engine, np.concatenate([a.positions for a in both]), np.concatenate([a.numbers for a in both]),
        np.array([a.cell[:] for a in both]), np.array([a.pbc for a in both]),
        np.repeat([0, 1], [len(first), len(second)]), properties=ALL)
    calc = NEPCalculator(MODEL, backend="reference")
    assert_equals_calculator(results, calculator_results(first, calc), 0, slice(0, len(first)))
    assert_equals_calculator(results, calculator_results(second, calc), 1, slice(len(first), None))


def test_float32_positions_give_float32_results_of_the_float64_numbers():
    atoms = silicon_carbide()
    engine = get_backend(MODEL, "reference")
    single = gpunep.evaluate(engine, atoms.positions.astype(np.float32), atoms.numbers,
                             atoms.cell[:].astype(np.float32), atoms.pbc)
    double = gpunep.evaluate(engine, atoms.positions.astype(np.float32).astype(np.float64),
                             atoms.numbers, atoms.cell[:].astype(np.float32).astype(np.float64),
                             atoms.pbc)
    for name in ("energy", "forces", "stress"):
        assert single[name].dtype == np.float32
        assert np.array_equal(single[name], double[name].astype(np.float32))


def test_charge_model_total_charge_and_charges_equal_the_calculator():
    atoms = silicon_carbide()
    atoms.info["charge"] = 0.5
    calc = NEPCalculator(CHARGE_MODEL, backend="reference")
    atoms.calc = calc
    results = gpunep.evaluate(get_backend(CHARGE_MODEL, "reference"), atoms.positions, atoms.numbers,
                              atoms.cell[:], atoms.pbc, total_charge=0.5,
                              properties=("energy", "forces", "charges", "bec"))
    assert results["energy"][0] == atoms.get_potential_energy()
    assert np.array_equal(results["forces"], atoms.get_forces())
    assert np.array_equal(results["charges"], atoms.get_charges())
    assert np.array_equal(results["bec"], calc.get_property("bec", atoms))


def test_dipole_model_gives_its_dipole():
    model = random_model(("H", "O"), model_type="dipole", seed=3, n_neuron=5)
    water = molecule("H2O")
    water.center(vacuum=5.0)
    results = gpunep.evaluate(get_backend(model, "reference"), water.positions, water.numbers,
                              water.cell[:], False, properties=["dipole"])
    water.calc = NEPCalculator(model, backend="reference")
    assert np.array_equal(results["dipole"][0], water.calc.get_property("dipole", water))


def test_descriptors_equal_the_backends():
    atoms = silicon_carbide()
    engine = get_backend(MODEL, "reference")
    results = gpunep.evaluate(engine, atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc,
                              properties="descriptors")
    assert np.array_equal(results["descriptors"], engine.compute_descriptors(pack(atoms, MODEL)))


# ------------------------------------------------------------------------------- torch
def test_torch_in_torch_out_equals_the_calculator_bitwise():
    torch = pytest.importorskip("torch", reason="torch not installed (the torchsim extra)")
    atoms = silicon_carbide()
    engine = get_backend(MODEL, "host", "float64")
    positions = torch.tensor(atoms.positions, requires_grad=True)   # read detached
    results = gpunep.evaluate(engine, positions, torch.tensor(atoms.numbers),
                              torch.tensor(atoms.cell[:]), torch.tensor(atoms.pbc), properties=ALL)
    assert all(isinstance(v, torch.Tensor) and v.device.type == "cpu" and v.dtype == torch.float64
               for v in results.values())
    expected = calculator_results(atoms, NEPCalculator(MODEL, backend="host", precision="float64"))
    assert_equals_calculator({k: v.numpy() for k, v in results.items()}, expected)


def test_torch_system_index_and_float32():
    torch = pytest.importorskip("torch", reason="torch not installed (the torchsim extra)")
    first, second = silicon_carbide(1), silicon_carbide(2)
    engine = get_backend(MODEL, "reference")
    positions = np.concatenate([first.positions, second.positions])
    numbers = np.concatenate([first.numbers, second.numbers])
    cells = np.array([first.cell[:], second.cell[:]])
    index = np.repeat([0, 1], [len(first), len(second)])
    expected = gpunep.evaluate(engine, positions.astype(np.float32), numbers,
                               cells.astype(np.float32), np.array(True), index)
    results = gpunep.evaluate(engine, torch.tensor(positions, dtype=torch.float32),
                              torch.tensor(numbers, dtype=torch.int32),
                              torch.tensor(cells, dtype=torch.float32), True,
                              torch.tensor(index))
    for name, value in results.items():
        assert value.dtype == torch.float32
        assert np.array_equal(value.numpy(), expected[name])


# ------------------------------------------------------------------------------ errors
class FakeDeviceArray:
    """Stands for a GPU array: only where it lives is read before the device check refuses it."""

    def __dlpack_device__(self):
        return (2, 0)


def arguments(atoms: Atoms | None = None) -> dict:
    atoms = silicon_carbide() if atoms is None else atoms
    return dict(positions=atoms.positions, numbers=atoms.numbers, cell=atoms.cell[:], pbc=atoms.pbc)


N = 4   # atoms of silicon_carbide()
TWO_CELLS = np.eye(3)[None].repeat(2, axis=0) * 9


@pytest.mark.parametrize("change, error, message", [
    (dict(positions=np.zeros((N, 2))), ValueError, r"positions must have shape \(n_atoms, 3\)"),
    (dict(positions=np.zeros((N, 3), dtype=int)), TypeError, "positions must be float32 or float64"),
    (dict(numbers=np.full(N, 14.0)), TypeError, "numbers must be an integer type"),
    (dict(numbers=np.full(N - 1, 14)), ValueError, r"numbers must have shape \(n_atoms,\) = \(4,\)"),
    (dict(cell=TWO_CELLS), ValueError, "2 cells but no system_index"),
    (dict(cell=np.zeros((3, 4))), ValueError, r"cell must have shape \(3, 3\)"),
    (dict(pbc=np.ones(3, dtype=int)), TypeError, "pbc must be bool"),
    (dict(pbc=np.ones(2, dtype=bool)), ValueError, "pbc must be a bool"),
    (dict(system_index=np.array([0, 1, 0, 1]), cell=TWO_CELLS), ValueError,
     r"system_index decreases at atom 2 \(1 then 0\)"),
    (dict(system_index=np.full(N, 2)), ValueError, "system_index holds 2, but there are 1 cells"),
    (dict(system_index=np.zeros(N)), TypeError, "system_index must be an integer type"),
    (dict(system_index=np.zeros(N + 1, int)), ValueError, r"system_index must have shape \(n_atoms,\)"),
    (dict(total_charge=1.0), ValueError, "total_charge applies to charge models"),
    (dict(properties=("energy", "dipole")), ValueError, "a 'potential' model gives no 'dipole'"),
    (dict(positions=FakeDeviceArray()), ValueError, "positions is on cuda:0 but numbers is on cpu"),
    (dict(cell=FakeDeviceArray()), ValueError, "positions is on cpu but cell is on cuda:0"),
    (dict(cell=object()), TypeError, "cannot read a builtins.object"),
])
def test_bad_arguments_get_clear_errors(change, error, message):
    given = arguments() | change
    with pytest.raises(error, match=message):
        gpunep.evaluate(get_backend(MODEL, "reference"), **given)


def test_checks_of_pack_name_the_system_and_atom():
    first, second = silicon_carbide(1), silicon_carbide(2)
    second.numbers[3] = 8
    second.positions[2, 1] = np.nan
    given = dict(positions=np.concatenate([first.positions, second.positions]),
                 numbers=np.concatenate([first.numbers, second.numbers]),
                 cell=np.array([first.cell[:], second.cell[:]]), pbc=True,
                 system_index=np.repeat([0, 1], N))
    with pytest.raises(ValueError, match=r"system 1: atom 3 is O, a species the model does not have"):
        gpunep.evaluate(get_backend(MODEL, "reference"), **given)
    given["numbers"][N + 3] = 14
    with pytest.raises(ValueError, match=r"system 1: atom 2 has a non-finite position"):
        gpunep.evaluate(get_backend(MODEL, "reference"), **given)
    given["numbers"][2] = 300
    with pytest.raises(ValueError, match=r"system 0: atom 2 is atomic number 300"):
        gpunep.evaluate(get_backend(MODEL, "reference"), **given)


def test_stress_of_a_system_without_a_volume_is_refused_by_name():
    cluster = Atoms("SiC2", positions=[[0, 0, 0], [1.8, 0, 0], [0, 1.9, 0.2]])
    given = dict(positions=cluster.positions, numbers=cluster.numbers, cell=np.zeros((3, 3)), pbc=False)
    engine = get_backend(MODEL, "reference")
    assert gpunep.evaluate(engine, **given, properties=("energy", "forces"))["forces"].shape == (3, 3)
    with pytest.raises(ValueError, match="system: stress needs a three-dimensional cell"):
        gpunep.evaluate(engine, **given)


def test_a_model_path_gets_an_auto_backend(tmp_path):
    atoms = silicon_carbide()
    MODEL.write(str(tmp_path / "nep.txt"))
    results = gpunep.evaluate(tmp_path / "nep.txt", **arguments(atoms))
    expected = calculator_results(atoms, NEPCalculator(str(tmp_path / "nep.txt")))
    assert results["energy"][0] == expected["energy"]
