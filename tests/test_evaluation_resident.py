"""gpunep.evaluate with CuPy arrays on the cuda backend's own device: nothing of size N crosses.

Run on the CuPy stand-in (:func:`gpunep.testing.cuda_standin`), which counts
every device-to-host copy and records every upload with its shape. The
oracle is the same backend given the same numbers as numpy arrays (the
host path, itself checked against the calculator in tests/test_evaluation.py):
for atoms inside their cells the two paths run the same kernels on the same
numbers, so results must be bitwise equal.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

import gpunep
from gpunep.backends import get_backend
from gpunep.engine.evaluator import WRAP_EXACT_LIMIT
from gpunep.model import random_model
from gpunep.testing import cuda_standin

MODEL = random_model(("Si", "C"), seed=31, n_neuron=8, l_max=(4, 2, 1), zbl=(0.8, 1.6))
ALL = ("energy", "forces", "stress", "energies", "stresses")


def two_systems(inside: bool = True) -> dict[str, np.ndarray]:
    """Flat arrays of two rattled SiC cells of different sizes, wrapped into their cells."""
    first, second = bulk("SiC", "zincblende", 4.36) * (2, 1, 1), bulk("SiC", "zincblende", 4.36) * (1, 2, 1)
    for seed, atoms in enumerate((first, second)):
        atoms.rattle(0.05, seed=seed + 1)
        if inside:
            atoms.wrap()
    return dict(positions=np.concatenate([first.positions, second.positions]),
                numbers=np.concatenate([first.numbers, second.numbers]),
                cell=np.array([first.cell[:], second.cell[:]]), pbc=np.array(True),
                system_index=np.repeat([0, 1], [len(first), len(second)]))


def on_device(cupy, arrays: dict) -> dict:
    return {name: cupy.asarray(value) for name, value in arrays.items()}


def per_atom_uploads(standin, n_atoms: int) -> list[str]:
    """Uploads whose leading dimension is the number of atoms."""
    return [what for kind, what in standin.log.events
            if kind == "upload" and what.startswith((f"({n_atoms},", f"({3 * n_atoms},"))]


@pytest.mark.parametrize("precision", ["float64", "float32"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_results_stay_on_the_device_and_equal_the_host_path_bitwise(precision, dtype):
    arrays = two_systems()
    arrays["positions"] = arrays["positions"].astype(dtype)
    arrays["cell"] = arrays["cell"].astype(dtype)
    n = len(arrays["numbers"])
    with cuda_standin() as standin:
        cupy = standin.cupy
        engine = get_backend(MODEL, "cuda", precision)
        expected = gpunep.evaluate(engine, **arrays, properties=ALL)
        device = on_device(cupy, arrays)
        standin.log.reset()
        results = gpunep.evaluate(engine, **device, properties=ALL)
        transfers, synchronizations = standin.transfers, standin.synchronizations
        uploads = per_atom_uploads(standin, n)
        for name, value in results.items():
            assert isinstance(value, cupy.ndarray), name
            assert value.dtype == dtype, name
            assert np.array_equal(value.get(), expected[name]), name
    # one download of the per-system data (cells, system starts, species present, the
    # checks), one of the evaluation's diagnostics; the lists' capacities were counted
    # by the host-path call before, so no count pass
    assert transfers == 2
    assert synchronizations == 0
    assert uploads == []


def test_the_first_evaluation_adds_only_the_neighbor_count():
    arrays = two_systems()
    with cuda_standin() as standin:
        engine = get_backend(MODEL, "cuda", "float64")
        device = on_device(standin.cupy, arrays)
        standin.log.reset()
        gpunep.evaluate(engine, **device)
        assert standin.transfers == 3  # per-system data, neighbor counts, diagnostics


def test_results_are_not_overwritten_by_the_next_evaluation():
    # the device results are made from views of the download buffer, which the next
    # evaluation reuses: each returned array must be a copy (per-atom energies are the
    # buffer's own contiguous first row)
    atoms = bulk("Si", "diamond", 5.43) * (2, 2, 2)
    atoms.rattle(0.05, seed=3)
    atoms.wrap()
    model = random_model(("Si",), seed=5, n_neuron=6, l_max=(4, 0, 0))
    with cuda_standin() as standin:
        cupy = standin.cupy
        engine = get_backend(model, "cuda", "float64")
        args = [cupy.asarray(atoms.positions), cupy.asarray(atoms.numbers),
                cupy.asarray(atoms.cell[:]), True]
        first = gpunep.evaluate(engine, *args, properties=ALL)
        kept = {name: value.get() for name, value in first.items()}
        args[0] = cupy.asarray(atoms.positions * 1.01)
        gpunep.evaluate(engine, *args, properties=ALL)
        for name, value in first.items():
            assert np.array_equal(value.get(), kept[name]), name


def test_atoms_outside_their_cells_are_wrapped_on_the_device():
    inside = two_systems()
    outside = dict(inside)
    cells = np.repeat(inside["cell"], np.bincount(inside["system_index"]), axis=0)
    outside["positions"] = inside["positions"] + 2.0 * cells[:, 0] - cells[:, 2]
    with cuda_standin() as standin:
        engine = get_backend(MODEL, "cuda", "float64")
        expected = gpunep.evaluate(engine, **inside, properties=ALL)
        standin.log.reset()
        results = gpunep.evaluate(engine, **on_device(standin.cupy, outside), properties=ALL)
        assert standin.transfers == 2  # stayed on the device
        got = {name: value.get() for name, value in results.items()}
    # The kernel wraps with a plain r - n a: each coordinate off by a few ulp of the
    # shift (~1e-15 Å), which moves energies and forces by ~1e-14; 1e-10 leaves margin
    # while a wrong shift (a whole cell vector) would change them by O(1).
    for name in ALL:
        np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=1e-10, err_msg=name)


def test_atoms_far_outside_take_the_exact_host_wrap():
    inside = two_systems()
    far = dict(inside)
    cells = np.repeat(inside["cell"], np.bincount(inside["system_index"]), axis=0)
    shift = np.ceil(2 * WRAP_EXACT_LIMIT / np.linalg.norm(inside["cell"][0, 0]))
    far["positions"] = inside["positions"] + shift * cells[:, 1]
    with cuda_standin() as standin:
        engine = get_backend(MODEL, "cuda", "float64")
        expected = gpunep.evaluate(engine, **far, properties=ALL)  # numpy: the host path
        results = gpunep.evaluate(engine, **on_device(standin.cupy, far), properties=ALL)
        for name, value in results.items():
            assert np.array_equal(value.get(), expected[name]), name


@pytest.mark.parametrize("change, error", [
    (lambda a: a["numbers"].__setitem__(3, 79), "system 0: atom 3 is Au, a species the model does not have"),
    (lambda a: a["positions"].__setitem__((6, 1), np.nan), "system 1: atom 2 has a non-finite position"),
    (lambda a: a["system_index"].__setitem__(2, 1), "system_index decreases at atom 3"),
    (lambda a: a["positions"].__setitem__(1, a["positions"][0]), "atoms 0 and 1 .* same position"),
])
def test_bad_inputs_get_the_host_paths_named_errors(change, error):
    arrays = two_systems()
    change(arrays)
    with cuda_standin() as standin:
        engine = get_backend(MODEL, "cuda", "float64")
        with pytest.raises(ValueError, match=error):
            gpunep.evaluate(engine, **arrays)
        with pytest.raises(ValueError, match=error):
            gpunep.evaluate(engine, **on_device(standin.cupy, arrays))


def test_a_stress_without_a_volume_is_refused_on_the_device_path_too():
    arrays = two_systems()
    arrays["cell"][1, 2] = 0.0
    arrays["pbc"] = np.array([[True, True, True], [True, True, False]])
    with cuda_standin() as standin:
        engine = get_backend(MODEL, "cuda", "float64")
        gpunep.evaluate(engine, **on_device(standin.cupy, arrays), properties=("energy",))
        with pytest.raises(ValueError, match="system 1: stress needs a three-dimensional cell"):
            gpunep.evaluate(engine, **on_device(standin.cupy, arrays))


def test_a_system_without_atoms_between_two_others():
    arrays = two_systems()
    arrays["cell"] = np.stack([arrays["cell"][0], arrays["cell"][1], arrays["cell"][1]])
    arrays["system_index"] = np.where(arrays["system_index"] == 1, 2, 0)
    with cuda_standin() as standin:
        engine = get_backend(MODEL, "cuda", "float64")
        expected = gpunep.evaluate(engine, **arrays, properties=ALL)
        standin.log.reset()
        results = gpunep.evaluate(engine, **on_device(standin.cupy, arrays), properties=ALL)
        assert standin.transfers == 2
        for name, value in results.items():
            assert np.array_equal(value.get(), expected[name]), name
    assert expected["energy"][1] == 0.0 and np.all(expected["stress"][1] == 0.0)


def test_descriptors_take_the_host_path_and_come_back_on_the_device():
    arrays = two_systems()
    with cuda_standin() as standin:
        engine = get_backend(MODEL, "cuda", "float64")
        expected = gpunep.evaluate(engine, **arrays, properties=("energy", "descriptors"))
        device = on_device(standin.cupy, arrays)
        standin.log.reset()
        results = gpunep.evaluate(engine, **device, properties=("energy", "descriptors"))
        # every input to the host (.get()), the evaluation's one download
        assert standin.transfers == len(device) + 1
        for name, value in results.items():
            assert np.array_equal(value.get(), expected[name]), name


class CudaTensor:
    """What gpunep reads of a torch CUDA tensor, over a stand-in array: torch's own dtype
    (which numpy cannot read), ``detach()``, and the DLPack exchange (its ``__dlpack__``
    hands the stand-in the array it holds; ``torch.from_dlpack`` is patched to wrap one)."""

    __module__ = "torch"

    def __init__(self, array):
        import torch

        self.array = array
        self.dtype = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32,
                      np.dtype(np.int64): torch.int64, np.dtype(np.bool_): torch.bool}[array.dtype]
        self.shape = array.shape

    def detach(self):
        return self

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()

    def __dlpack__(self, stream=None):
        return self.array


def test_torch_cuda_tensors_in_torch_tensors_out(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch, "from_dlpack", CudaTensor)
    arrays = two_systems()
    with cuda_standin() as standin:
        engine = get_backend(MODEL, "cuda", "float64")
        expected = gpunep.evaluate(engine, **arrays, properties=ALL)
        tensors = {name: CudaTensor(value) for name, value in on_device(standin.cupy, arrays).items()}
        standin.log.reset()
        results = gpunep.evaluate(engine, **tensors, properties=ALL)
        assert standin.transfers == 2
        for name, value in results.items():
            assert isinstance(value, CudaTensor) and value.dtype == torch.float64, name
            assert np.array_equal(value.array.get(), expected[name]), name


def test_host_lists_beside_device_positions_take_the_host_path():
    arrays = two_systems()
    with cuda_standin() as standin:
        engine = get_backend(MODEL, "cuda", "float64")
        expected = gpunep.evaluate(engine, **arrays)
        mixed = dict(arrays, positions=standin.cupy.asarray(arrays["positions"]),
                     numbers=arrays["numbers"].tolist(), cell=arrays["cell"].tolist(),
                     system_index=arrays["system_index"].tolist(), pbc=True)
        results = gpunep.evaluate(engine, **mixed)
        for name, value in results.items():
            assert np.array_equal(value.get(), expected[name]), name


def test_a_slab_and_a_molecule_on_the_device():
    # not periodic in three dimensions: no density to size the first lists by, so the
    # first call counts first (3 transfers), as the host path does
    slab = bulk("SiC", "zincblende", 4.36, cubic=True) * (2, 2, 1)
    slab.rattle(0.05, seed=7)
    slab.wrap()
    slab.pbc = (True, True, False)
    molecule = bulk("SiC", "zincblende", 4.36) * (1, 1, 1)
    molecule.pbc = False
    arrays = dict(positions=np.concatenate([slab.positions, molecule.positions]),
                  numbers=np.concatenate([slab.numbers, molecule.numbers]),
                  cell=np.array([slab.cell[:], molecule.cell[:]]),
                  pbc=np.array([slab.pbc, molecule.pbc]),
                  system_index=np.repeat([0, 1], [len(slab), len(molecule)]))
    with cuda_standin() as standin:
        engine = get_backend(MODEL, "cuda", "float64")
        device = on_device(standin.cupy, arrays)
        standin.log.reset()
        results = gpunep.evaluate(engine, **device, properties=ALL)
        assert standin.transfers == 3
        expected = gpunep.evaluate(get_backend(MODEL, "cuda", "float64"), **arrays, properties=ALL)
        for name, value in results.items():
            assert np.array_equal(value.get(), expected[name]), name
