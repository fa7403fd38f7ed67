"""Test support: a strict CuPy stand-in, so the ``cuda`` executor runs in CI without a GPU.

Not for evaluating models: :func:`cuda_standin` puts a module named ``cupy``
in ``sys.modules`` for the duration of a ``with`` block. Inside it
``backend='cuda'`` runs the real :mod:`gpunep.executors.cuda`, the evaluator,
the plans, the neighbor lists, ``predict`` and ``NEPCalculator`` against it,
and it behaves like CuPy where a mistake would otherwise only show on a GPU:

* device arrays refuse implicit conversion to numpy exactly as CuPy's do
  (``np.asarray(device_array)`` raises ``TypeError``), a numpy array mixed
  into a device operation is refused (CuPy: "Unsupported type"), and a numpy
  function CuPy does not dispatch fails;
* every device-to-host copy is counted as a *transfer* (``.get()``,
  ``cupy.asnumpy``, ``int()``/``float()``/``bool()``/``.item()``/``.tolist()``
  of device values, ``repr``), and every other wait for the device as a
  *synchronisation* (stream or device ``synchronize()``, and what CuPy's own
  functions wait for: ``bincount``, ``nonzero``/``flatnonzero`` and boolean
  mask indexing, whose result sizes live on the device);
* arrays belong to the device that was current when they were made; using
  one under another device, in an operation or a launch, is an error, as a
  launch on a GPU without peer access would be;
* ``RawModule`` compiles the same source with the same ``-D`` definitions
  for the CPU (:mod:`gpunep.executors.host`) and its functions take their
  arguments as CuPy marshals them (a Python int becomes a 64-bit integer, a
  Python float a double, a numpy scalar its own type, an array a bare
  pointer): an argument that would reach the kernel as something other than
  the C parameter type raises :class:`StandinLaunchError` saying what the
  GPU would have read. :mod:`gpunep.executors.arguments` is what must stop
  such a launch first;
* a memory pool per device like CuPy's: freed arrays go back to the pool
  (``get_default_memory_pool().used_bytes()``), ``Device.mem_info`` reports
  what the pool does not hold.

Only what gpunep uses is implemented; any other CuPy name raises
``AttributeError`` naming it. Failures of a real installation can be
injected (``fail=``): no CuPy, a driver too old for the CUDA runtime, no
device, no NVRTC library, a compile error, a module the driver cannot load,
a launch error.
"""

from __future__ import annotations

import re
import sys
import threading
import types
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

FAILURES = ("no_cupy", "driver", "no_device", "nvrtc", "compile", "load", "launch")
"""What ``cuda_standin(fail=...)`` can break, in the order a real installation meets them."""

IMPLICIT_CONVERSION = ("Implicit conversion to a NumPy array is not allowed. "
                       "Please use `.get()` to construct a NumPy array explicitly.")
_MODULE_NAMES = ("cupy", "cupy.cuda", "cupy.cuda.runtime", "cupy.cuda.compiler", "cupy.cuda.driver",
                 "cupy.cuda.nvrtc", "cupy.cuda.memory")
_DEFAULT_MEMORY = 8 * 2**30
_POOL_ROUNDING = 512  # CuPy rounds allocations up to 512 bytes
_DLPACK_CUDA = 2  # dlpack.h kDLCUDA: what a CuPy array reports as its device type


class StandinLaunchError(RuntimeError):
    """A launch that would corrupt a GPU kernel's arguments (or read another device's memory)."""


# CuPy's exceptions (named as CuPy's are; CuPy raises them from these modules)
class CUDARuntimeError(RuntimeError):
    """``cupy_backends.cuda.api.runtime.CUDARuntimeError``."""


class CUDADriverError(RuntimeError):
    """``cupy_backends.cuda.api.driver.CUDADriverError``."""


class CompileException(Exception):
    """``cupy.cuda.compiler.CompileException``: NVRTC's log of a failed compile."""


class DynamicLibNotFoundError(RuntimeError):
    """``cuda.pathfinder.DynamicLibNotFoundError``: how CuPy 14 reports a missing CUDA library."""


class OutOfMemoryError(MemoryError):
    """``cupy.cuda.memory.OutOfMemoryError``."""


@dataclass
class DeviceLog:
    """What the device did: counted transfers and synchronisations, and every event in order.

    ``events`` holds ``(kind, what)`` with kind ``'upload'``, ``'launch'``,
    ``'transfer'`` or ``'synchronize'``.
    """

    transfers: int = 0
    synchronizations: int = 0
    events: list[tuple[str, str]] = field(default_factory=list)

    def record(self, kind: str, what: str) -> None:
        if kind == "transfer":
            self.transfers += 1
        elif kind == "synchronize":
            self.synchronizations += 1
        self.events.append((kind, what))

    def reset(self) -> None:
        self.transfers = self.synchronizations = 0
        self.events.clear()

    def kinds(self) -> list[str]:
        """The kinds of the events, in order."""
        return [kind for kind, _ in self.events]


class _Pool:
    """CuPy's memory pool, per device: freed blocks stay cached until ``free_all_blocks``."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.used = 0
        self.cached = 0

    def allocate(self, nbytes: int, device: int, error: type) -> int:
        size = -(-nbytes // _POOL_ROUNDING) * _POOL_ROUNDING
        if size <= self.cached:
            self.cached -= size
        elif self.used + self.cached + size > self.capacity:
            self.cached = 0  # CuPy frees its cached blocks and retries before giving up
            if self.used + size > self.capacity:
                raise error(f"Out of memory allocating {size:,} bytes (allocated so far: "
                            f"{self.used:,} bytes) on device {device}")
        self.used += size
        return size

    def release(self, size: int) -> None:
        self.used -= size
        self.cached += size


class _State:
    """One stand-in installation: devices, pools, the log and the injected failure."""

    def __init__(self, devices: int, memory: int, fail: str | None):
        self.devices = devices
        self.pools = [_Pool(memory) for _ in range(devices)]
        self.log = DeviceLog()
        self.fail = fail
        self._local = threading.local()

    @property
    def current(self) -> int:
        return getattr(self._local, "device", 0)

    @current.setter
    def current(self, device: int) -> None:
        self._local.device = device

    def failing(self, stage: str) -> bool:
        return self.fail == stage


# --------------------------------------------------------------------------- arrays
class _Flags:
    def __init__(self, data: np.ndarray):
        self.c_contiguous = bool(data.flags.c_contiguous)
        self.f_contiguous = bool(data.flags.f_contiguous)
        self.owndata = data.base is None


class ndarray:  # noqa: N801 - CuPy's name
    """A device array: host memory standing for device memory, on one device."""

    __module__ = "cupy"  # as type(cupy_array).__module__ reads, so libraries recognise it

    __array_priority__ = 100.0
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, data: np.ndarray, device: int, state: _State, base: "ndarray | None" = None):
        self._data = data
        self._device = device
        self._state = state
        self._base = base
        if base is None:
            size = state.pools[device].allocate(data.nbytes, device, OutOfMemoryError)
            weakref.finalize(self, state.pools[device].release, size)

    # ------------------------------------------------------------- metadata
    shape = property(lambda self: self._data.shape)
    dtype = property(lambda self: self._data.dtype)
    size = property(lambda self: int(self._data.size))
    ndim = property(lambda self: self._data.ndim)
    nbytes = property(lambda self: int(self._data.nbytes))
    strides = property(lambda self: self._data.strides)
    itemsize = property(lambda self: self._data.itemsize)
    flags = property(lambda self: _Flags(self._data))

    @property
    def device(self) -> "_Device":
        return _Device(self._state, self._device)

    def __dlpack_device__(self) -> tuple[int, int]:
        return (_DLPACK_CUDA, self._device)

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator["ndarray"]:
        return (self[k] for k in range(len(self)))

    # ------------------------------------------------- what reaches the host
    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(IMPLICIT_CONVERSION)

    def get(self, stream: Any = None, order: str = "C", out: np.ndarray | None = None,
            blocking: bool = True) -> np.ndarray:
        self._state.log.record("transfer", f"get() of {self.shape} {self.dtype}")
        host = np.array(self._data, order=order, copy=True)
        if out is None:
            return host
        out[...] = host
        return out

    def _scalar(self, what: str) -> Any:
        if self.size != 1:
            raise TypeError(f"only size-1 arrays can be converted to Python scalars ({what})")
        self._state.log.record("transfer", f"{what} of a device value")
        return self._data.reshape(()).item()

    def __int__(self) -> int:
        return int(self._scalar("int()"))

    def __index__(self) -> int:
        if self.dtype.kind not in "iu":
            raise TypeError("only integer arrays can be used as an index")
        return int(self._scalar("__index__"))

    def __float__(self) -> float:
        return float(self._scalar("float()"))

    def __bool__(self) -> bool:
        return bool(self._scalar("bool()"))

    def item(self) -> Any:
        return self._scalar("item()")

    def tolist(self) -> Any:
        self._state.log.record("transfer", "tolist()")
        return self._data.tolist()

    def __repr__(self) -> str:
        self._state.log.record("transfer", "repr()")
        return f"array({self._data.tolist()!r}, dtype={self.dtype})"

    __str__ = __repr__

    # ------------------------------------------------------------- numpy protocols
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__":
            raise TypeError(f"the CuPy stand-in does not implement numpy.{ufunc.__name__}.{method}")
        return _namespace(self._state, ufunc.__name__)(*inputs, **kwargs)

    def __array_function__(self, func: Any, kinds: Any, args: Any, kwargs: Any) -> Any:
        return _namespace(self._state, func.__name__)(*args, **kwargs)

    # ------------------------------------------------------------- views and copies
    def _wrap(self, result: np.ndarray) -> "ndarray":
        """``result`` as a device array: a view of this one when it shares its memory."""
        if np.shares_memory(result, self._data):
            return ndarray(result, self._device, self._state, self._base if self._base is not None else self)
        return ndarray(result, self._device, self._state)

    def reshape(self, *shape: Any, order: str = "C") -> "ndarray":
        self._check_device()
        return self._wrap(self._data.reshape(*shape, order=order))

    def astype(self, dtype: Any, order: str = "K", copy: bool = True) -> "ndarray":
        self._check_device()
        if not copy and np.dtype(dtype) == self.dtype:
            return self
        return ndarray(self._data.astype(dtype, order=order), self._device, self._state)

    def copy(self, order: str = "C") -> "ndarray":
        self._check_device()
        return ndarray(self._data.copy(order=order), self._device, self._state)

    def fill(self, value: Any) -> None:
        self._check_device()
        self._data.fill(_operand(self._state, value))

    def __getitem__(self, key: Any) -> "ndarray":
        self._check_device()
        key, basic = _index(self._state, key)
        if basic:
            # a full integer index gives a 0-d view, as CuPy does (numpy would give a scalar)
            return self._wrap(self._data[key + (Ellipsis,)])
        return ndarray(self._data[key], self._device, self._state)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check_device()
        key, _ = _index(self._state, key)
        self._data[key] = _operand(self._state, value, host_arrays=True)

    def _check_device(self) -> None:
        current = self._state.current
        if self._device != current:
            raise ValueError(f"The device where the array resides ({self._device}) is different "
                             f"from the current device ({current}).")

    # ------------------------------------------------------------- arithmetic
    def _binary(self, op: Any, other: Any, reflected: bool = False) -> "ndarray":
        return _ufunc(self._state, op, (other, self) if reflected else (self, other))

    def _inplace(self, op: Any, other: Any) -> "ndarray":
        _ufunc(self._state, op, (self, other), out=self)
        return self

    def __neg__(self) -> "ndarray":
        return _ufunc(self._state, np.negative, (self,))

    def __invert__(self) -> "ndarray":
        return _ufunc(self._state, np.invert, (self,))

    @property
    def T(self) -> "ndarray":  # noqa: N802 - numpy's name
        self._check_device()
        return self._wrap(self._data.T)

    # ------------------------------------------------------------- reductions
    # CuPy reduces on the device and returns a 0-d device array: nothing waits.
    def _reduce(self, name: str, axis: Any = None) -> "ndarray":
        self._check_device()
        return _device_array(self._state, np.asarray(getattr(self._data, name)(axis=axis)))

    def min(self, axis: Any = None) -> "ndarray":
        return self._reduce("min", axis)

    def max(self, axis: Any = None) -> "ndarray":
        return self._reduce("max", axis)

    def all(self, axis: Any = None) -> "ndarray":
        return self._reduce("all", axis)

    def any(self, axis: Any = None) -> "ndarray":
        return self._reduce("any", axis)


def _arithmetic(op: Any) -> tuple:
    return (lambda a, b: a._binary(op, b), lambda a, b: a._binary(op, b, True),
            lambda a, b: a._inplace(op, b))


for _name, _op in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.true_divide), ("floordiv", np.floor_divide), ("mod", np.remainder)):
    _forward, _reflected, _in_place = _arithmetic(_op)
    setattr(ndarray, f"__{_name}__", _forward)
    setattr(ndarray, f"__r{_name}__", _reflected)
    setattr(ndarray, f"__i{_name}__", _in_place)
for _name, _op in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                   ("gt", np.greater), ("ge", np.greater_equal), ("and", np.bitwise_and),
                   ("or", np.bitwise_or)):
    setattr(ndarray, f"__{_name}__", _arithmetic(_op)[0])


def _operand(state: _State, value: Any, host_arrays: bool = False) -> Any:
    """What an operation may take: device arrays of the current device, scalars; numpy
    arrays only where CuPy uploads them (assignment into a device array)."""
    if isinstance(value, ndarray):
        value._check_device()
        return value._data
    if isinstance(value, (bool, int, float, complex, np.generic)):
        return value
    if isinstance(value, np.ndarray) and host_arrays:
        state.log.record("upload", f"{value.shape} {value.dtype}")
        return value
    raise TypeError(f"Unsupported type {type(value)}")


def _ufunc(state: _State, op: Any, operands: tuple, out: ndarray | None = None) -> ndarray:
    values = [_operand(state, v) for v in operands]
    if out is not None:
        if not isinstance(out, ndarray):
            raise TypeError(f"out must be a cupy.ndarray, got {type(out)}")
        op(*values, out=_operand(state, out))
        return out
    return ndarray(np.asarray(op(*values)), state.current, state)


def _index(state: _State, key: Any) -> tuple[tuple, bool]:
    """(the key for the host data, whether it is basic indexing); masks synchronise."""
    parts = key if isinstance(key, tuple) else (key,)
    out, basic = [], True
    for part in parts:
        if isinstance(part, (ndarray, np.ndarray, list)):
            basic = False
            array = _operand(state, part, host_arrays=True) if not isinstance(part, list) else np.asarray(part)
            if array.dtype == np.bool_:
                state.log.record("synchronize", "boolean mask indexing (the result's size)")
            out.append(array)
        else:
            out.append(part)
    return tuple(out), basic


# ------------------------------------------------------------------- module functions
def _device_array(state: _State, data: np.ndarray) -> ndarray:
    return ndarray(np.asarray(data, order="C"), state.current, state)  # 0-d stays 0-d, as in CuPy


def _functions(state: _State) -> dict[str, Any]:
    """The module-level functions of the stand-in (CuPy's names and semantics)."""
    def asarray(a: Any, dtype: Any = None, order: Any = None, *, blocking: bool = False) -> ndarray:
        if isinstance(a, ndarray):
            return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
        host = np.array(a, dtype=dtype, copy=True)
        state.log.record("upload", f"{host.shape} {host.dtype}")
        return _device_array(state, host)

    def zeros(shape: Any, dtype: Any = float, order: str = "C") -> ndarray:
        return _device_array(state, np.zeros(shape, dtype=dtype, order=order))

    def empty(shape: Any, dtype: Any = float, order: str = "C") -> ndarray:
        # uninitialised device memory: a pattern that shows reads of unwritten values
        data = np.empty(shape, dtype=dtype, order=order)
        data.view(np.uint8).fill(0xFF)
        return _device_array(state, data)

    def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> ndarray:
        return _device_array(state, np.arange(start, stop, step, dtype=dtype) if stop is not None
                             else np.arange(start, dtype=dtype))

    def argsort(a: ndarray, axis: int = -1) -> ndarray:
        return _device_array(state, np.argsort(_operand(state, a), axis=axis, kind="stable"))

    def searchsorted(a: ndarray, v: Any, side: str = "left") -> ndarray:
        return _device_array(state, np.asarray(np.searchsorted(_operand(state, a), _operand(state, v),
                                                               side=side)))

    def copyto(dst: ndarray, src: Any, casting: str = "same_kind") -> None:
        np.copyto(_operand(state, dst), _operand(state, src), casting=casting)

    def asnumpy(a: Any, stream: Any = None, order: str = "C", out: Any = None,
                blocking: bool = True) -> np.ndarray:
        return a.get(order=order, out=out) if isinstance(a, ndarray) else np.asarray(a, order=order)

    def bincount(x: ndarray, weights: Any = None, minlength: int | None = None) -> ndarray:
        state.log.record("synchronize", "cupy.bincount (the largest value sizes the output)")
        w = None if weights is None else _operand(state, weights)
        return _device_array(state, np.bincount(_operand(state, x), w, minlength or 0))

    def nonzero(a: ndarray) -> tuple:
        state.log.record("synchronize", "cupy.nonzero (the count sizes the output)")
        return tuple(_device_array(state, i) for i in np.nonzero(_operand(state, a)))

    def flatnonzero(a: ndarray) -> ndarray:
        state.log.record("synchronize", "cupy.flatnonzero (the count sizes the output)")
        return _device_array(state, np.flatnonzero(_operand(state, a)))

    functions = dict(asarray=asarray, array=asarray, zeros=zeros, empty=empty, arange=arange,
                     argsort=argsort, searchsorted=searchsorted, copyto=copyto, asnumpy=asnumpy,
                     bincount=bincount, nonzero=nonzero, flatnonzero=flatnonzero,
                     **_array_functions(state))
    for name, op in (("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply),
                     ("divide", np.true_divide), ("true_divide", np.true_divide),
                     ("negative", np.negative), ("isfinite", np.isfinite), ("abs", np.abs),
                     ("absolute", np.abs)):
        functions[name] = _ufunc_function(state, op)
    return functions


def _array_functions(state: _State) -> dict[str, Any]:
    """More of CuPy's module functions: those that build arrays from arrays on the device."""
    def sort(a: ndarray, axis: int = -1) -> ndarray:
        return _device_array(state, np.sort(_operand(state, a), axis=axis, kind="stable"))

    def concatenate(arrays: Any, axis: int = 0) -> ndarray:
        return _device_array(state, np.concatenate([_operand(state, a) for a in arrays], axis=axis))

    def ascontiguousarray(a: ndarray, dtype: Any = None) -> ndarray:
        data = _operand(state, a)
        if data.flags.c_contiguous and (dtype is None or np.dtype(dtype) == data.dtype):
            return a
        return _device_array(state, np.ascontiguousarray(data, dtype=dtype))

    def where(condition: ndarray, x: Any, y: Any) -> ndarray:
        return _device_array(state, np.where(*(_operand(state, v) for v in (condition, x, y))))

    def from_dlpack(a: Any) -> ndarray:
        # CuPy wraps any DLPack producer on a CUDA device without a copy; on the stand-in's
        # devices only its own arrays live, so another library's array (a test's stand-in
        # for a torch CUDA tensor) hands over the stand-in array it holds from __dlpack__
        exported = a if isinstance(a, ndarray) else getattr(a, "__dlpack__", lambda: None)()
        if not isinstance(exported, ndarray):
            raise TypeError(f"the CuPy stand-in reads only arrays on its devices through DLPack, "
                            f"not {type(a).__module__}.{type(a).__name__}")
        return exported

    return dict(sort=sort, concatenate=concatenate, ascontiguousarray=ascontiguousarray,
                where=where, from_dlpack=from_dlpack)


def _ufunc_function(state: _State, op: Any) -> Any:
    def function(*operands: Any, out: ndarray | None = None) -> ndarray:
        return _ufunc(state, op, operands, out=out)

    function.__name__ = op.__name__
    return function


def _namespace(state: _State, name: str) -> Any:
    return getattr(sys.modules.get("cupy") if _installed(state) else _Missing(), name)


def _installed(state: _State) -> bool:
    module = sys.modules.get("cupy")
    return isinstance(module, _StandinModule) and module._state is state


class _Missing:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"a stand-in device array was used after its cuda_standin() ended ({name})")


class _StandinModule(types.ModuleType):
    """A module that names what it lacks."""

    _state: _State

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"module {self.__name__!r} has no attribute {name!r}: gpunep's CuPy stand-in "
            f"(gpunep.testing) implements only what gpunep uses; if gpunep now needs "
            f"{self.__name__}.{name}, add it there with CuPy's semantics (what it synchronises on)")


# ---------------------------------------------------------------------- cupy.cuda
class _Device:
    """``cupy.cuda.Device``: a context that makes ``id`` the current device."""

    def __init__(self, state: _State, device: int | None = None):
        self._state = state
        self.id = state.current if device is None else int(device)
        self._previous: list[int] = []

    def _check(self) -> None:
        if not 0 <= self.id < self._state.devices:
            raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")

    def __enter__(self) -> "_Device":
        self._check()
        self._previous.append(self._state.current)
        self._state.current = self.id
        return self

    def __exit__(self, *exc: Any) -> None:
        self._state.current = self._previous.pop()

    def use(self) -> None:
        self._check()
        self._state.current = self.id

    def synchronize(self) -> None:
        self._state.log.record("synchronize", f"Device({self.id}).synchronize()")

    @property
    def mem_info(self) -> tuple[int, int]:
        """(free, total) bytes, as the driver sees them: the pool's cached blocks are not free."""
        self._check()
        pool = self._state.pools[self.id]
        return pool.capacity - pool.used - pool.cached, pool.capacity

    @property
    def compute_capability(self) -> str:
        return "90"


class _Stream:
    def __init__(self, state: _State):
        self._state = state
        self.ptr = 0

    def synchronize(self) -> None:
        self._state.log.record("synchronize", "stream synchronize()")


class _MemoryPool:
    """``cupy.get_default_memory_pool()``: byte counts of the current device's pool."""

    def __init__(self, state: _State):
        self._state = state

    def _pool(self) -> _Pool:
        return self._state.pools[self._state.current]

    def used_bytes(self) -> int:
        return self._pool().used

    def free_bytes(self) -> int:
        return self._pool().cached

    def total_bytes(self) -> int:
        return self._pool().used + self._pool().cached

    def free_all_blocks(self) -> None:
        self._pool().cached = 0


def _runtime(state: _State) -> types.ModuleType:
    runtime = _StandinModule("cupy.cuda.runtime")

    def device_count() -> int:
        if state.failing("driver"):
            raise CUDARuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient "
                                   "for CUDA runtime version")
        return 0 if state.failing("no_device") else state.devices

    def properties(device: int) -> dict:
        return {"name": b"gpunep CuPy stand-in (host kernels)", "major": 9, "minor": 0,
                "totalGlobalMem": state.pools[device].capacity}

    def set_device(device: int) -> None:
        _Device(state, device).use()

    runtime.__dict__.update(
        getDeviceCount=device_count, getDevice=lambda: state.current, setDevice=set_device,
        getDeviceProperties=properties, runtimeGetVersion=lambda: 13000,
        driverGetVersion=lambda: 12040 if state.failing("driver") else 13000,
        CUDARuntimeError=CUDARuntimeError)
    return runtime


def _cuda(state: _State) -> types.ModuleType:
    cuda = _StandinModule("cupy.cuda")
    compiler = _StandinModule("cupy.cuda.compiler")
    compiler.CompileException = CompileException
    driver = _StandinModule("cupy.cuda.driver")
    driver.CUDADriverError = CUDADriverError
    nvrtc = _StandinModule("cupy.cuda.nvrtc")  # gpunep compiles through RawModule only
    memory = _StandinModule("cupy.cuda.memory")
    memory.OutOfMemoryError = OutOfMemoryError
    cuda.__dict__.update(
        runtime=_runtime(state), compiler=compiler, driver=driver, nvrtc=nvrtc, memory=memory,
        Device=lambda device=None: _Device(state, device),
        get_current_stream=lambda: _Stream(state), __path__=[])
    return cuda


def _missing_nvrtc() -> DynamicLibNotFoundError:
    return DynamicLibNotFoundError(
        'Failure finding "libnvrtc.so": No such file: libnvrtc.so.13 (searched the nvidia wheels, '
        "the conda environment and the system search path)")


# ------------------------------------------------------------------------ RawModule
_CUPY_SCALARS = {bool: "bool", int: "long long", float: "double", complex: "complex<double>"}
_C_TYPES = {np.dtype(np.bool_): "bool", np.dtype(np.int32): "int", np.dtype(np.int64): "long long",
            np.dtype(np.uint64): "unsigned long long", np.dtype(np.float32): "float",
            np.dtype(np.float64): "double", np.dtype(np.uint32): "unsigned int"}
_INCLUDE = re.compile(r'#include "([\w.]+\.cu)"')
_DEFINE = re.compile(r"-D(\w+)=(.*)")


class _RawModule:
    """``cupy.RawModule(code=..., options=...)``, compiled by the host compiler."""

    def __init__(self, state: _State, code: str, options: tuple = (), **unused: Any):
        self._state = state
        self._code = code
        self._options = tuple(options)
        self._host: Any = None

    def compile(self, log_stream: Any = None) -> None:
        from gpunep.errors import KernelCompileError

        if self._state.failing("nvrtc"):
            raise _missing_nvrtc()
        if self._state.failing("compile"):
            raise CompileException("error: identifier \"gpunep_standin\" is undefined (injected)")
        try:
            self._host = _host_build(self._code, self._options)
        except KernelCompileError as exc:
            raise CompileException(str(exc)) from exc

    def get_function(self, name: str) -> "_RawFunction":
        if self._host is None:
            self.compile()
        if self._state.failing("load"):
            raise CUDADriverError("CUDA_ERROR_UNSUPPORTED_PTX_VERSION: the provided PTX was compiled "
                                  "with an unsupported toolchain.")
        return _RawFunction(self._state, self._host.get_function(name), self._host.real_dtype)


def _host_build(code: str, options: tuple) -> Any:
    """The host executor's module of the same source and definitions."""
    from gpunep.executors import host
    from gpunep.executors.kernel_source import PRECISIONS

    defines = dict(m.groups() for m in map(_DEFINE.fullmatch, options) if m)
    precision = {c: p for p, c in PRECISIONS.items()}[defines.pop("NEP_REAL")]
    lines = [line.strip() for line in code.splitlines() if line.strip()
             and not line.strip().startswith("//")]
    files = [m.group(1) for m in map(_INCLUDE.fullmatch, lines) if m]
    if len(files) == len(lines):
        return host.load_module(precision, files, {k: int(v) for k, v in defines.items()})
    prefix = "".join(f"#define {name} {value}\n" for name, value in defines.items())
    return host.compile_source(prefix + code, precision, "<RawModule code>")


class _RawFunction:
    """A kernel called as CuPy calls it: ``f(grid, block, args)``, arguments marshalled
    the CuPy way, then compared with the C signature."""

    def __init__(self, state: _State, kernel: Any, real_dtype: np.dtype):
        self._state = state
        self._kernel = kernel
        self._real = real_dtype

    def __call__(self, grid: Any, block: Any, args: tuple, *, shared_mem: int = 0,
                 stream: Any = None) -> None:
        if not isinstance(args, tuple):
            raise TypeError(f"Argument 'args' has incorrect type (expected tuple, got {type(args).__name__})")
        if self._state.failing("launch"):
            raise CUDADriverError("CUDA_ERROR_LAUNCH_FAILED: unspecified launch failure")
        signature = self._kernel.signature
        if len(args) != len(signature.params):
            raise StandinLaunchError(f"kernel {signature.name} takes {len(signature.params)} arguments, "
                                     f"CuPy would pass {len(args)}: the kernel would read garbage")
        host_args = tuple(self._argument(signature.name, k, p, v)
                          for k, (p, v) in enumerate(zip(signature.params, args)))
        as_tuple = (lambda d: d if isinstance(d, tuple) else (d,))
        self._kernel(as_tuple(grid), as_tuple(block), host_args)
        self._state.log.record("launch", signature.name)

    def _argument(self, kernel: str, position: int, param: Any, value: Any) -> Any:
        where = f"kernel {kernel}: parameter {position} '{param.name}' ({param.ctype})"
        expected = np.dtype(self._real) if param.base == "real" else np.dtype(
            {"int": np.int32, "float": np.float32, "double": np.float64,
             "unsigned long long": np.uint64}[param.base])
        if isinstance(value, ndarray):
            return self._pointer(where, param, value, expected)
        if param.pointer:
            raise StandinLaunchError(f"{where}: CuPy would pass {_passed(value)}, which the kernel "
                                     "would use as an address (an illegal memory access)")
        passed = _passed(value)
        if passed != _C_TYPES[expected]:
            raise StandinLaunchError(
                f"{where}: CuPy passes {type(value).__name__} {value!r} as a {passed}; the kernel "
                f"reads {expected.itemsize} bytes of it as {_C_TYPES[expected]}: "
                f"{_reinterpret(value, passed, expected)}")
        return expected.type(value)

    def _pointer(self, where: str, param: Any, value: ndarray, expected: np.dtype) -> np.ndarray:
        if not param.pointer:
            raise StandinLaunchError(f"{where}: CuPy would pass an array's address, which the kernel "
                                     "would read as a number")
        if value._device != self._state.current:
            raise StandinLaunchError(f"{where}: the array is on device {value._device}, the launch on "
                                     f"device {self._state.current} (an illegal memory access)")
        if value.dtype != expected:
            raise StandinLaunchError(f"{where}: a {value.dtype} array; the kernel would read its bytes "
                                     f"as {_C_TYPES[expected]}")
        if not value._data.flags.c_contiguous:
            raise StandinLaunchError(f"{where}: a non-contiguous view; the kernel would read the "
                                     "memory after its first element, not the view's elements")
        return value._data


def _passed(value: Any) -> str:
    """The C type CuPy gives a kernel argument (its RawKernel marshalling)."""
    if isinstance(value, np.generic):
        return _C_TYPES.get(value.dtype, str(value.dtype))
    for kind, ctype in _CUPY_SCALARS.items():
        if type(value) is kind:
            return ctype
    raise TypeError(f"Unsupported type {type(value)}")


def _reinterpret(value: Any, passed: str, expected: np.dtype) -> str:
    """What the kernel would see: the first bytes of the value CuPy passed, read as ``expected``."""
    dtype = {ctype: dt for dt, ctype in _C_TYPES.items()}.get(passed)
    if dtype is None:
        return "bytes of an unsupported type"
    raw = np.asarray(value, dtype=dtype).tobytes()
    if len(raw) < expected.itemsize:
        return f"{len(raw)} bytes of the value and {expected.itemsize - len(raw)} undefined bytes after it"
    return repr(np.frombuffer(raw[:expected.itemsize], dtype=expected)[0].item())


# --------------------------------------------------------------------- installation
def _module(state: _State) -> _StandinModule:
    cupy = _StandinModule("cupy")
    cupy._state = state
    cupy.__dict__.update(_functions(state))
    memory_pool = _MemoryPool(state)
    cupy.__dict__.update(
        __version__="14.2.0+gpunep.testing", __path__=[], ndarray=ndarray, cuda=_cuda(state),
        RawModule=lambda code=None, **kwargs: _RawModule(state, code, **kwargs),
        get_default_memory_pool=lambda: memory_pool, newaxis=None,
        float32=np.float32, float64=np.float64, int32=np.int32, int64=np.int64, uint64=np.uint64,
        intp=np.intp, bool_=np.bool_)
    return cupy


@dataclass
class StandIn:
    """What :func:`cuda_standin` yields: the module and what happened on its devices.

    Attributes
    ----------
    cupy : the stand-in module (also ``sys.modules['cupy']`` inside the block)
    log : transfers, synchronisations and every event, in order
    """

    cupy: types.ModuleType
    log: DeviceLog

    @property
    def transfers(self) -> int:
        return self.log.transfers

    @property
    def synchronizations(self) -> int:
        return self.log.synchronizations

    def used_bytes(self, device: int = 0) -> int:
        """Bytes of live arrays on ``device`` (freed ones stay in the pool, not counted)."""
        return self.cupy._state.pools[device].used


@contextmanager
def cuda_standin(devices: int = 1, memory: int = _DEFAULT_MEMORY,
                 fail: str | None = None) -> Iterator[StandIn]:
    """Install the CuPy stand-in as ``cupy`` for the block (see the module docstring).

    Parameters
    ----------
    devices : how many GPUs it pretends to have
    memory : bytes per device
    fail : one of :data:`FAILURES` to break a real installation's way, or None

    Yields
    ------
    StandIn
    """
    if fail is not None and fail not in FAILURES:
        raise ValueError(f"fail must be one of {FAILURES} or None, not {fail!r}")
    saved = {name: sys.modules[name] for name in _MODULE_NAMES if name in sys.modules}
    state = _State(devices, memory, fail)
    cupy = _module(state)
    modules: dict[str, Any] = {"cupy": None} if fail == "no_cupy" else {
        "cupy": cupy, "cupy.cuda": cupy.cuda, **{f"cupy.cuda.{name}": getattr(cupy.cuda, name)
                                                   for name in ("runtime", "compiler", "driver",
                                                                "nvrtc", "memory")}}
    try:
        sys.modules.update(modules)
        yield StandIn(cupy, state.log)
    finally:
        for name in _MODULE_NAMES:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
