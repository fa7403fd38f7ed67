"""gpunep.evaluate with CuPy arrays: in on a device, out on that device, run on the CuPy stand-in.

The stand-in (:func:`gpunep.testing.cuda_standin`) refuses implicit
conversions of device arrays to numpy, counts every device-to-host copy,
and ties each array to the device current when it was made, as CuPy does.
So these tests fail if :mod:`gpunep.arrays` reads a CuPy array without
``.get()``, returns results on another device, or copies more than it says.

The oracle is the same ``cuda`` backend given the same numbers as numpy
arrays (evaluate's numpy path, itself checked against the calculator in
tests/test_evaluation.py): the CuPy path converts at the device boundary
only, so the numbers must be bitwise equal.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

import gpunep
from gpunep.backends import get_backend
from gpunep.model import random_model
from gpunep.testing import cuda_standin

MODEL = random_model(("Si", "C"), seed=31, n_neuron=8, l_max=(4, 2, 1), zbl=(0.8, 1.6))
ALL = ("energy", "forces", "stress", "energies", "stresses")


def two_systems() -> dict[str, np.ndarray]:
    """Flat arrays of two rattled SiC cells of different sizes."""
    first, second = bulk("SiC", "zincblende", 4.36) * (2, 1, 1), bulk("SiC", "zincblende", 4.36) * (1, 2, 1)
    first.rattle(0.05, seed=1)
    second.rattle(0.05, seed=2)
    return dict(positions=np.concatenate([first.positions, second.positions]),
                numbers=np.concatenate([first.numbers, second.numbers]),
                cell=np.array([first.cell[:], second.cell[:]]), pbc=np.array(True),
                system_index=np.repeat([0, 1], [len(first), len(second)]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cupy_in_cupy_out_on_the_input_device_equals_numpy_bitwise(dtype):
    arrays = two_systems()
    arrays["positions"] = arrays["positions"].astype(dtype)
    arrays["cell"] = arrays["cell"].astype(dtype)
    with cuda_standin(devices=2) as standin:
        cupy = standin.cupy
        engine = get_backend(MODEL, "cuda", "float64")
        expected = gpunep.evaluate(engine, **arrays, properties=ALL)
        with cupy.cuda.Device(1):
            on_device = {name: cupy.asarray(value) for name, value in arrays.items()}
        standin.log.reset()
        results = gpunep.evaluate(engine, **on_device, properties=ALL)
        transfers = standin.transfers
        for name, value in results.items():
            assert isinstance(value, cupy.ndarray), name
            assert value.device.id == 1, name
            assert value.dtype == dtype, name
            assert np.array_equal(value.get(), expected[name]), name
    # each of the five inputs comes to the host once (.get()), and the evaluation's
    # own single download (tests/backends/test_cuda_standin.py asserts that one)
    assert transfers == len(on_device) + 1


def test_numpy_numbers_beside_cupy_positions_are_refused_by_name():
    arrays = two_systems()
    with cuda_standin() as standin:
        engine = get_backend(MODEL, "cuda", "float64")
        positions = standin.cupy.asarray(arrays.pop("positions"))
        with pytest.raises(ValueError, match="positions is on cuda:0 but numbers is on cpu"):
            gpunep.evaluate(engine, positions, **arrays)


def test_a_cupy_array_on_another_device_is_refused_by_name():
    arrays = two_systems()
    with cuda_standin(devices=2) as standin:
        cupy = standin.cupy
        engine = get_backend(MODEL, "cuda", "float64")
        on_device = {name: cupy.asarray(value) for name, value in arrays.items()}
        with cupy.cuda.Device(1):
            on_device["cell"] = cupy.asarray(arrays["cell"])
        with pytest.raises(ValueError, match="positions is on cuda:0 but cell is on cuda:1"):
            gpunep.evaluate(engine, **on_device)
