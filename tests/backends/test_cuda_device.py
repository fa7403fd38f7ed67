"""``device=`` puts a cuda backend's arrays and launches on one GPU, and its memory goes
back when it is gone (on the CuPy stand-in with two devices, gpunep.testing).

The stand-in ties every array to the device that was current when it was
made and refuses to use it under another (in arithmetic, as CuPy does, and
in a launch, where a GPU without peer access would fault), so an evaluation
that passes here made and used everything under ``cupy.cuda.Device(n)``.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from ase.build import bulk

from gpunep import NEPCalculator, predict
from gpunep.backends.kernel import KernelBackend
from gpunep.batching import GPU_MEMORY_FRACTION, BatchPlanner, _memory_budget
from gpunep.model import random_model
from gpunep.structures import pack
from gpunep.testing import StandinLaunchError, cuda_standin, ndarray

MODEL = random_model(("Si", "O"), seed=31)


def _structures(n: int = 3):
    out = []
    for k in range(n):
        atoms = bulk("Si", "diamond", a=5.43, cubic=True)
        atoms.symbols[::3] = "O"
        atoms.rattle(0.05, seed=k)
        out.append(atoms)
    return out


def _device_arrays(obj, seen=None) -> list[ndarray]:
    """Every stand-in device array reachable from ``obj``'s attributes."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, ndarray):
        return [obj]
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        children = list(obj)
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("gpunep.engine"):
        children = list(vars(obj).values())
    else:
        return []
    return [a for child in children for a in _device_arrays(child, seen)]


def test_everything_of_a_backend_lives_and_runs_on_its_device():
    batch = pack(_structures(), MODEL)
    expected = KernelBackend(MODEL, "host", "float64").evaluate(batch)
    with cuda_standin(devices=2) as gpu:
        backend = KernelBackend(MODEL, "cuda", "float64", device=1)
        result = backend.evaluate(batch)
        assert backend.device == 1 and gpu.cupy.cuda.runtime.getDevice() == 0  # restored
        arrays = _device_arrays(backend.evaluator)
        assert len(arrays) > 10 and {a.device.id for a in arrays} == {1}
        assert gpu.used_bytes(0) == 0 < gpu.used_bytes(1)
        # the same evaluator outside its device context: the stand-in refuses the launch
        with pytest.raises((ValueError, StandinLaunchError), match="device"):
            backend.evaluator.evaluate(batch)
    assert np.array_equal(result.forces, expected.forces)
    assert np.array_equal(result.energy, expected.energy)


def test_predict_and_the_calculator_take_a_device():
    structures = _structures()
    expected = predict(MODEL, structures, backend="host", precision="float64")
    with cuda_standin(devices=2) as gpu:
        result = predict(MODEL, structures, backend="cuda", precision="float64", device=1)
        assert result.backend == "cuda" and gpu.used_bytes(0) == 0
        calc = NEPCalculator(MODEL, device=1, precision="float64")
        atoms = structures[0].copy()
        atoms.calc = calc
        forces = atoms.get_forces()
        assert calc.backend.name == "cuda" and calc.backend.device == 1
    assert np.array_equal(result.forces, expected.forces)
    assert np.array_equal(forces, expected.forces[: len(atoms)])


def test_a_dead_backend_leaves_no_device_memory_in_use():
    batch = pack(_structures(), MODEL)
    with cuda_standin() as gpu:
        calc = NEPCalculator(MODEL)
        atoms = _structures(1)[0]
        atoms.calc = calc
        atoms.get_potential_energy()
        backend = KernelBackend(MODEL, "cuda")
        backend.evaluate(batch)
        assert gpu.used_bytes() > 0
        del backend, calc
        atoms.calc = None
        gc.collect()
        # nothing (no cache of backends or evaluators) keeps their buffers: all back in the pool
        assert gpu.used_bytes() == 0


def test_predicts_memory_budget_counts_what_the_pool_holds_for_reuse():
    with cuda_standin(memory=2**30) as gpu:
        backend = KernelBackend(MODEL, "cuda")
        backend.evaluate(pack(_structures(), MODEL))
        pool = gpu.cupy.get_default_memory_pool()
        in_use = pool.used_bytes()
        held = KernelBackend(MODEL, "cuda")
        held.evaluate(pack(_structures(), MODEL))
        del held
        gc.collect()
        assert pool.free_bytes() > 0  # a dead evaluator's buffers, cached by the pool
        free, total = gpu.cupy.cuda.Device(0).mem_info
        assert free == total - in_use - pool.free_bytes()
        # the budget is a fraction of all memory not in use, the pool's cached blocks included
        assert _memory_budget(backend) == int(GPU_MEMORY_FRACTION * (total - in_use))
        assert BatchPlanner(MODEL, backend, "auto").max_atoms > 0
