"""The CuPy stand-in itself (gpunep.testing) is as strict as CuPy where it matters.

Each test pins one behaviour of CuPy that the cuda executor's tests rely on
the stand-in to reproduce: refused implicit conversions, what counts as a
transfer or a wait, the device an array belongs to, and the way CuPy
marshals kernel arguments (so that the argument check of
gpunep.executors.arguments is what stands between a wrong launch and a
corrupted kernel).
"""

from __future__ import annotations

import numpy as np
import pytest

from gpunep.engine.builds import lists_build
from gpunep.errors import KernelArgumentError
from gpunep.executors.executor import Executor
from gpunep.testing import IMPLICIT_CONVERSION, StandinLaunchError, cuda_standin


def test_device_arrays_refuse_implicit_conversion_as_cupy_does():
    with cuda_standin() as gpu:
        x = gpu.cupy.arange(4, dtype=np.float64)
        for convert in (np.asarray, np.array, lambda a: np.ascontiguousarray(a, dtype=np.float64)):
            with pytest.raises(TypeError, match="Implicit conversion to a NumPy array"):
                convert(x)
        with pytest.raises(TypeError, match="Unsupported type"):
            x + np.ones(4)  # CuPy does not take numpy arrays into device arithmetic
        with pytest.raises(TypeError, match="Unsupported type"):
            np.add(np.ones(4), x)
        assert gpu.transfers == 0
    assert IMPLICIT_CONVERSION.startswith("Implicit conversion")


def test_numpy_functions_reach_the_standin_or_fail_naming_the_cupy_function():
    with cuda_standin() as gpu:
        x = gpu.cupy.arange(3, dtype=np.float64)
        assert np.multiply(x, 2.0).get().tolist() == [0.0, 2.0, 4.0]  # dispatched, stays on the device
        with pytest.raises(AttributeError, match="cupy.*'sum'"):
            np.sum(x)
        with pytest.raises(AttributeError, match="cupy.cumsum"):
            gpu.cupy.cumsum(x)


def test_every_device_to_host_copy_is_a_transfer():
    with cuda_standin() as gpu:
        cp = gpu.cupy
        x = cp.asarray(np.array([3.0, 4.0]))
        assert gpu.transfers == 0  # uploads do not wait
        copies = [lambda: x.get(), lambda: cp.asnumpy(x), lambda: float(x[0]), lambda: int(x[1]),
                  lambda: bool(x[0]), lambda: x[0].item(), lambda: x.tolist(), lambda: repr(x)]
        for k, copy in enumerate(copies, start=1):
            copy()
            assert gpu.transfers == k
        assert gpu.synchronizations == 0
        assert float(x[1]) == 4.0 and x[0].shape == ()  # a full integer index is a 0-d device array


def test_what_cupy_waits_for_is_a_synchronisation():
    with cuda_standin() as gpu:
        cp = gpu.cupy
        x = cp.asarray(np.array([0, 2, 2, 5], dtype=np.int32))
        waits = [lambda: cp.bincount(x), lambda: cp.nonzero(x), lambda: cp.flatnonzero(x),
                 lambda: x[x > 1], lambda: cp.cuda.get_current_stream().synchronize(),
                 lambda: cp.cuda.Device(0).synchronize()]
        for k, wait in enumerate(waits, start=1):
            wait()
            assert gpu.synchronizations == k
        assert gpu.transfers == 0
        # the ones that stay on the device: sorting, searching, gathers, arithmetic
        cp.argsort(x), cp.searchsorted(x, cp.arange(3, dtype=np.int32)), x[cp.arange(2)], x * 2
        assert gpu.synchronizations == len(waits) and gpu.transfers == 0


def test_arrays_belong_to_the_device_they_were_made_on():
    with cuda_standin(devices=2) as gpu:
        cp = gpu.cupy
        with cp.cuda.Device(1):
            on_one = cp.zeros(3)
        assert on_one.device.id == 1 and cp.cuda.runtime.getDevice() == 0
        with pytest.raises(ValueError, match="device where the array resides"):
            on_one + 1.0
        with cp.cuda.Device(1):
            assert (on_one + 1.0).device.id == 1
        with pytest.raises(Exception, match="invalid device ordinal"):
            cp.cuda.Device(2).use()


def test_freed_arrays_go_back_to_the_pool():
    with cuda_standin(memory=2**20) as gpu:
        cp = gpu.cupy
        pool = cp.get_default_memory_pool()
        x = cp.zeros(1000)
        assert pool.used_bytes() == gpu.used_bytes() == 8192
        del x
        assert pool.used_bytes() == 0 and pool.free_bytes() == 8192
        free, total = cp.cuda.Device(0).mem_info
        assert total - free == 8192  # the driver still counts the pool's cached block as used
        with pytest.raises(MemoryError, match="Out of memory"):
            cp.zeros(2**18)


def _reduce_kernels(gpu):
    """The checked kernel and CuPy's raw function behind it (nep_reduce_structures)."""
    module = Executor("cuda", "float64", 0).load(lists_build().files)
    checked = module.get_function("nep_reduce_structures")
    return checked, checked._function


def _reduce_args(cp, **changes):
    args = dict(S=np.int32(1), components=np.int32(1), n_parts=np.int32(1),
                part_offsets=cp.asarray(np.array([0, 1], dtype=np.int32)),
                partial=cp.asarray(np.array([2.5])), sums=cp.zeros(1))
    args.update(changes)
    return tuple(args.values())


def test_cupys_argument_marshalling_is_what_the_argument_check_stops():
    with cuda_standin() as gpu:
        cp = gpu.cupy
        checked, raw = _reduce_kernels(gpu)
        args = _reduce_args(cp)
        raw((1,), (1,), args)
        assert args[-1].get().tolist() == [2.5]  # a correct launch runs the host build
        # a Python int: CuPy passes 8 bytes; the kernel's int reads 4 of them
        with pytest.raises(StandinLaunchError, match="passes int 1 as a long long"):
            raw((1,), (1,), _reduce_args(cp, S=1))
        with pytest.raises(KernelArgumentError, match="64-bit"):
            checked((1,), (1,), _reduce_args(cp, S=1))
        # float32 data where the kernel reads doubles
        wrong = _reduce_args(cp, partial=cp.asarray(np.array([2.5], dtype=np.float32)))
        with pytest.raises(StandinLaunchError, match="float32 array"):
            raw((1,), (1,), wrong)
        with pytest.raises(KernelArgumentError, match="dtype float64"):
            checked((1,), (1,), wrong)
        # a number where the kernel expects an address
        with pytest.raises(StandinLaunchError, match="address"):
            raw((1,), (1,), _reduce_args(cp, sums=np.float64(0.0)))


def test_a_launch_reads_only_the_current_devices_memory():
    with cuda_standin(devices=2) as gpu:
        cp = gpu.cupy
        _, raw = _reduce_kernels(gpu)
        with cp.cuda.Device(1):
            elsewhere = cp.zeros(1)
        with pytest.raises(StandinLaunchError, match="on device 1, the launch on device 0"):
            raw((1,), (1,), _reduce_args(cp, sums=elsewhere))


def test_the_installation_is_undone():
    import sys

    before = sys.modules.get("cupy")
    with cuda_standin() as gpu:
        import cupy

        assert cupy is gpu.cupy
    assert sys.modules.get("cupy") is before
    with pytest.raises(ValueError, match="fail must be one of"):
        with cuda_standin(fail="everything"):
            pass
