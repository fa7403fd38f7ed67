"""predict(): batched evaluation equals one-at-a-time NEPCalculator results.

The mixed list covers every packing hazard: a bulk cell, a slab periodic
along x and y only, a molecule without a cell, a tiny skewed triclinic cell
(cutoff spanning several images) and structures with different species
counts, including one without some of the model's species.
"""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

from gpunep import random_model
from gpunep.calculator import NEPCalculator
from gpunep.prediction import predict

# Batch vs single evaluation in float64 differ only in the order of sums
# (a few hundred terms of ~1 eV, eps 2.2e-16): 1e-10 is ~1e4 x that bound
# and far below any physics the packing could break (e.g. a lost image: >1e-3).
ATOL = 1e-10


@pytest.fixture(scope="module")
def model():
    return random_model(("Te", "Pb", "Si"), cutoff=(5.0, 4.0), n_max=(4, 3), basis_size=(6, 5),
                        l_max=(4, 2, 1), n_neuron=12, zbl=(1.0, 2.0), seed=11)


def mixed_structures() -> list[Atoms]:
    rng = np.random.default_rng(3)
    rock = bulk("PbTe", "rocksalt", a=6.4, cubic=True) * (2, 1, 1)
    rock.rattle(0.05, seed=1)
    slab = bulk("Si", "diamond", a=5.43, cubic=True) * (1, 1, 2)
    slab.pbc = (True, True, False)
    slab.center(vacuum=4.0, axis=2)
    slab.symbols[:3] = "Te"
    slab.rattle(0.05, seed=2)
    mol = molecule("CH4")
    mol.set_chemical_symbols(["Si", "Te", "Te", "Pb", "Pb"])
    mol.positions *= 2.2
    tiny = Atoms("TePb", scaled_positions=[[0, 0, 0], [0.45, 0.5, 0.55]],
                 cell=[[2.9, 0, 0], [2.5, 2.7, 0], [1.2, 1.9, 3.1]], pbc=True)
    only_te = Atoms("Te8", positions=rng.uniform(0, 7, (8, 3)), cell=np.diag([7.0, 7.5, 8.0]), pbc=True)
    return [rock, slab, mol, tiny, only_te]


def _one_at_a_time(model, structures, backend, precision):
    calc = NEPCalculator(model, backend=backend, precision=precision)
    energies, forces, per_atom = [], [], []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = calc
        energies.append(atoms.get_potential_energy())
        forces.append(atoms.get_forces())
        per_atom.append(atoms.get_potential_energies())
    return np.array(energies), np.concatenate(forces), np.concatenate(per_atom)


@pytest.mark.parametrize("backend", ["reference", "host"])
@pytest.mark.parametrize("batch_size", ["auto", 2])
def test_mixed_list_equals_calculator_one_at_a_time(model, backend, batch_size):
    structures = mixed_structures()
    energy, forces, energies = _one_at_a_time(model, structures, backend, "float64")
    result = predict(model, structures, backend=backend, precision="float64", batch_size=batch_size)
    assert result.backend == backend and result.precision == "float64"
    np.testing.assert_allclose(result.energy, energy, rtol=0, atol=ATOL)
    np.testing.assert_allclose(result.forces, forces, rtol=0, atol=ATOL)
    np.testing.assert_allclose(result.energies, energies, rtol=0, atol=ATOL)
    assert result.n_atoms_per_structure.tolist() == [len(a) for a in structures]
    assert result.symbols.tolist() == [s for a in structures for s in a.get_chemical_symbols()]


def test_virial_and_stress_match_the_calculator(model):
    # ASE stress for every three-dimensional cell: bulk, the slab (vacuum included), tiny, only_te
    structures = mixed_structures()
    result = predict(model, structures, backend="reference")
    calc = NEPCalculator(model, backend="reference")
    for s in (0, 1, 3, 4):
        atoms = structures[s].copy()
        atoms.calc = calc
        np.testing.assert_allclose(result.stress[s], atoms.get_stress(), rtol=0, atol=1e-12)
        # W = -stress V (docs/README.md#virial-and-stress)
        np.testing.assert_allclose(result.virial[s], -atoms.get_stress(voigt=False) * atoms.get_volume(),
                                   rtol=0, atol=1e-10)
    assert np.isnan(result.stress[2]).all()  # the molecule has no cell, so no volume


def test_a_file_streams_like_the_list(model, tmp_path):
    import ase.io

    structures = mixed_structures()
    structures[2].cell = np.diag([20.0, 20.0, 20.0])  # extxyz needs a lattice line to keep pbc F
    path = tmp_path / "data.xyz"
    ase.io.write(path, structures, format="extxyz")
    from_file = predict(model, path, backend="reference", batch_size=2)
    # the same structures as ASE reads them (positions rounded to the file's 8 decimals)
    from_list = predict(model, ase.io.read(path, ":"), backend="reference")
    np.testing.assert_allclose(from_file.energy, from_list.energy, rtol=0, atol=ATOL)
    np.testing.assert_allclose(from_file.forces, from_list.forces, rtol=0, atol=ATOL)
    np.testing.assert_array_equal(from_file.volumes, from_list.volumes)


def test_descriptors_equal_the_backend_descriptors(model):
    from gpunep.backends import get_backend
    from gpunep.structures import pack

    structures = mixed_structures()
    result = predict(model, structures, backend="host", precision="float64", descriptors=True)
    reference = get_backend(model, "reference").compute_descriptors(pack(structures, model))
    # host float64 vs numpy reference: same math in another order (tests/backends: ~1e-15)
    np.testing.assert_allclose(result.descriptors, reference, rtol=1e-10, atol=1e-12)
    assert predict(model, structures, backend="reference").descriptors is None


class _FlakyMemoryBackend:
    """Wraps a backend and runs out of memory above ``limit`` atoms, like a small GPU."""

    def __init__(self, inner, limit, error):
        self.inner, self.limit, self.error, self.sizes = inner, limit, error, []
        self.name, self.precision = inner.name, inner.precision

    def evaluate(self, batch, descriptors=False, per_atom=True):
        self.sizes.append(batch.n_structures)
        if batch.n_atoms > self.limit:
            raise self.error(f"out of memory allocating {batch.n_atoms} atoms")
        return self.inner.evaluate(batch, descriptors=descriptors, per_atom=per_atom)


class OutOfMemoryError(Exception):
    """Named like cupy's, but not a MemoryError (as a CUDA runtime error can be)."""


@pytest.mark.parametrize("error", [MemoryError, OutOfMemoryError])
def test_out_of_memory_shrinks_and_retries(model, monkeypatch, error):
    from gpunep.backends import get_backend

    from gpunep import batching as module

    flaky = _FlakyMemoryBackend(get_backend(model, "reference"), limit=20, error=error)
    monkeypatch.setattr(module, "get_backend", lambda m, name, precision: flaky)
    structures = mixed_structures() * 2
    result = predict(model, structures, batch_size=10)
    expected = predict(model, structures, backend="reference", batch_size=1)
    np.testing.assert_allclose(result.energy, expected.energy, rtol=0, atol=ATOL)
    np.testing.assert_allclose(result.forces, expected.forces, rtol=0, atol=ATOL)
    assert flaky.sizes[0] == 10 and max(flaky.sizes[1:]) < 10  # it split, then stayed smaller


def test_a_structure_too_big_for_memory_is_a_clear_error(model, monkeypatch):
    from gpunep.backends import get_backend

    from gpunep import batching as module

    flaky = _FlakyMemoryBackend(get_backend(model, "reference"), limit=1, error=MemoryError)
    monkeypatch.setattr(module, "get_backend", lambda m, name, precision: flaky)
    with pytest.raises(MemoryError, match="single structure of 16 atoms"):
        predict(model, mixed_structures()[:1])


def test_unknown_species_names_the_structure(model, tmp_path):
    import ase.io

    structures = mixed_structures()
    structures[3][1].symbol = "Cu"
    with pytest.raises(ValueError, match=r"^structure 3: atom 1 is Cu"):
        predict(model, structures, backend="reference")
    path = tmp_path / "bad.xyz"
    ase.io.write(path, structures[3:], format="extxyz")
    with pytest.raises(ValueError, match=r"bad.xyz, frame 0 \(line 1\): atom 1 is Cu"):
        predict(model, path, backend="reference")


def test_progress_bar_only_when_asked_or_on_a_terminal(model, monkeypatch):
    structures = mixed_structures()
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    predict(model, structures, backend="reference")  # StringIO is not a terminal
    assert captured.getvalue() == ""
    predict(model, structures, backend="reference", progress=True)
    assert "5/5" in captured.getvalue()  # tqdm's counter of structures


# ---------------------------------------------------------------- charge models (qNEP)


@pytest.fixture(scope="module", params=[1, 2])
def charge_model(request):
    return random_model(("Te", "Pb", "Si"), model_type="potential_with_charges",
                        charge_mode=request.param, cutoff=(5.0, 4.0), n_max=(4, 3),
                        basis_size=(6, 5), l_max=(4, 2, 1), n_neuron=12, seed=12)


def charged_structures() -> list[Atoms]:
    """3D-periodic cells (charge models need them), two of them with a net charge."""
    rock, _slab, _mol, tiny, only_te = mixed_structures()
    rock.info["charge"] = -2.0
    tiny.info["charge"] = 1.0
    return [rock, tiny, only_te]


def _calculator_results(model, structures, **options) -> dict[str, np.ndarray]:
    calc = NEPCalculator(model, backend="reference", **options)
    results: dict[str, list] = {"energy": [], "forces": [], "charges": [], "bec": [], "stress": []}
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = calc
        for name in results:
            results[name].append(calc.get_property(name, atoms))
    return {name: np.array(values) if name in ("energy", "stress") else np.concatenate(values)
            for name, values in results.items()}


@pytest.mark.parametrize("batch_size", ["auto", 2])
def test_charge_model_equals_calculator_one_at_a_time(charge_model, batch_size):
    structures = charged_structures()
    expected = _calculator_results(charge_model, structures)
    result = predict(charge_model, structures, backend="reference", batch_size=batch_size)
    assert result.model_type == "potential_with_charges"
    np.testing.assert_allclose(result.energy, expected["energy"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(result.forces, expected["forces"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(result.stress, expected["stress"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(result.charges, expected["charges"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(result.bec, expected["bec"], rtol=0, atol=ATOL)
    # the neutralised charges sum to each structure's info['charge']; the raw ones need not
    totals = np.add.reduceat(result.charges, result.offsets[:-1])
    np.testing.assert_allclose(totals, [-2.0, 1.0, 0.0], rtol=0, atol=1e-12)
    shift = np.repeat(totals - np.add.reduceat(result.raw_charges, result.offsets[:-1]),
                      result.n_atoms_per_structure) / np.repeat(result.n_atoms_per_structure,
                                                                 result.n_atoms_per_structure)
    # neutralisation shifts every atom of a structure by the same amount
    # (docs/charges.md#neutralisation)
    np.testing.assert_allclose(result.charges, result.raw_charges + shift, rtol=0, atol=1e-12)


def test_charge_options_reach_the_backend(charge_model):
    structures = charged_structures()
    default = predict(charge_model, structures, backend="reference")
    for options in ({"kspace": "converged"}, {"mean_d_correction": False}):
        expected = _calculator_results(charge_model, structures, **options)
        result = predict(charge_model, structures, backend="reference", **options)
        np.testing.assert_allclose(result.energy, expected["energy"], rtol=0, atol=ATOL)
        np.testing.assert_allclose(result.forces, expected["forces"], rtol=0, atol=ATOL)
        # and the option matters here (else this test would prove nothing): far above ATOL
        changed = np.abs(result.forces - default.forces).max()
        changed = max(changed, np.abs(result.energy - default.energy).max())
        assert changed > 1e-6, options


def test_out_of_memory_split_keeps_the_net_charges(charge_model, monkeypatch):
    from gpunep.backends import get_backend

    from gpunep import batching as module

    flaky = _FlakyMemoryBackend(get_backend(charge_model, "reference"), limit=20, error=MemoryError)
    monkeypatch.setattr(module, "get_backend", lambda m, name, precision, **options: flaky)
    structures = charged_structures() * 2
    result = predict(charge_model, structures, batch_size=6)
    monkeypatch.undo()
    expected = predict(charge_model, structures, backend="reference", batch_size=1)
    assert flaky.sizes[0] == 6 and max(flaky.sizes[1:]) < 6  # it split
    for name in ("energy", "forces", "charges", "raw_charges", "bec"):
        np.testing.assert_allclose(getattr(result, name), getattr(expected, name), rtol=0, atol=ATOL)


def test_a_model_beyond_the_kernels_points_to_the_reference(tmp_path, capsys):
    import ase.io

    from gpunep.cli import main
    from gpunep.errors import UnsupportedModelError

    # n_max_radial = 17 is beyond the kernels' register arrays (n_max + 1 <= 17); numpy has no such
    # limit
    big = random_model(("Te", "Pb", "Si"), cutoff=(5.0, 4.0), n_max=(17, 3), basis_size=(6, 5),
                       l_max=(4, 2, 1), n_neuron=12, seed=11)
    structures = mixed_structures()
    with pytest.raises(UnsupportedModelError, match=r"n_max_radial \+ 1 is 18.*pass backend='reference'"):
        predict(big, structures, backend="host")  # no silent fallback to the slow numpy code
    energy, forces, _ = _one_at_a_time(big, structures, "reference", None)
    result = predict(big, structures, backend="reference")
    np.testing.assert_allclose(result.energy, energy, rtol=0, atol=ATOL)
    model_file, data = tmp_path / "big.txt", tmp_path / "data.xyz"
    big.write(str(model_file))
    ase.io.write(data, structures[:2], format="extxyz")
    assert main(["predict", str(model_file), str(data), "-o", str(tmp_path / "out")]) == 2
    assert "--backend reference" in capsys.readouterr().err
