"""Check kernel launch arguments against a parsed signature, with CuPy's rules.

CuPy's ``RawKernel`` does not know the C signature: it passes a Python int as
a 64-bit integer, a Python float as a double, a numpy scalar as its own type
and an array as a bare device pointer. A mismatch silently corrupts the
kernel's arguments on the GPU. Both executors therefore run this check
before every launch, so a marshalling bug fails loudly (on the CPU first):

* ``int`` needs ``np.int32``; ``unsigned long long`` needs ``np.uint64``;
* ``double`` needs a Python float or ``np.float64``; ``float`` needs ``np.float32``;
* ``real`` needs the scalar type of the build's precision (``np.float32`` or
  ``np.float64``; a Python float is refused so that a float64 run catches what
  would break the float32 build);
* ``T*`` needs a C-contiguous array of the executor's array type with dtype
  exactly ``T`` (writeable unless ``const``), and, when the caller states it,
  exactly the expected number of elements.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from gpunep.executors.signature import KernelSignature, Param
from gpunep.errors import KernelArgumentError

_SCALAR_TYPES = {
    "int": (np.int32,),
    "unsigned long long": (np.uint64,),
    "float": (np.float32,),
    "double": (float, np.float64),
}
_POINTER_DTYPES = {
    "int": np.dtype(np.int32),
    "unsigned long long": np.dtype(np.uint64),
    "float": np.dtype(np.float32),
    "double": np.dtype(np.float64),
}
# CUDA's launch limits (all architectures gpunep targets)
_MAX_BLOCK = (1024, 1024, 64)
_MAX_THREADS_PER_BLOCK = 1024
_MAX_GRID = (2**31 - 1, 65535, 65535)



class CheckedKernel:
    """Base of both executors' kernels: the signature and the launch check.

    The host and the CUDA kernels check launches alike, so that a marshalling
    bug found on the CPU is the one the GPU would have; subclasses call
    :meth:`_check` first in ``__call__``.
    """

    def __init__(self, signature: KernelSignature, real_dtype: np.dtype, array_type: type):
        self.signature = signature
        self._real_dtype = real_dtype
        self._array_type = array_type

    @property
    def name(self) -> str:
        return self.signature.name

    def _check(
        self, grid: Any, block: Any, args: Any, sizes: Mapping[str, int] | None
    ) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """:func:`check_launch` for this kernel; grid and block as 3-tuples."""
        return check_launch(
            self.signature, grid, block, args, self._real_dtype, self._array_type, sizes
        )


def check_launch(
    signature: KernelSignature,
    grid: Any,
    block: Any,
    args: Any,
    real_dtype: np.dtype,
    array_type: type,
    sizes: Mapping[str, int] | None = None,
) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Validate one launch; return grid and block as 3-tuples.

    Parameters
    ----------
    signature : the kernel's parsed signature
    grid, block : tuples of 1 to 3 positive integers (CuPy's convention)
    args : tuple of arguments, one per parameter
    real_dtype : dtype of ``real`` in this build
    array_type : the array class pointers must be (``numpy.ndarray`` or ``cupy.ndarray``)
    sizes : optional ``{parameter name: expected number of elements}`` for pointer parameters

    Raises
    ------
    KernelArgumentError
        Naming the kernel, the parameter and what was expected.
    """
    name = signature.name
    grid3 = _dims(name, "grid", grid, _MAX_GRID)
    block3 = _dims(name, "block", block, _MAX_BLOCK)
    if block3[0] * block3[1] * block3[2] > _MAX_THREADS_PER_BLOCK:
        raise KernelArgumentError(
            f"kernel {name}: block {block} has more than {_MAX_THREADS_PER_BLOCK} threads"
        )
    if not isinstance(args, tuple):
        raise KernelArgumentError(f"kernel {name}: args must be a tuple, got {type(args).__name__}")
    params = signature.params
    if len(args) != len(params):
        raise KernelArgumentError(
            f"kernel {name}: expects {len(params)} arguments "
            f"({', '.join(p.name for p in params)}), got {len(args)}"
        )
    sizes = dict(sizes or {})
    pointer_names = {p.name for p in params if p.pointer}
    unknown = sorted(set(sizes) - pointer_names)
    if unknown:
        raise KernelArgumentError(
            f"kernel {name}: sizes names {unknown}, which are not pointer parameters"
        )
    for position, (param, value) in enumerate(zip(params, args)):
        where = f"kernel {name}: parameter {position} '{param.name}' ({param.ctype})"
        if param.pointer:
            _check_pointer(where, param, value, real_dtype, array_type, sizes.get(param.name))
        else:
            _check_scalar(where, param, value, real_dtype)
    return grid3, block3


def _dims(name: str, what: str, value: Any, limits: Sequence[int]) -> tuple[int, int, int]:
    if not isinstance(value, tuple) or not 1 <= len(value) <= 3:
        raise KernelArgumentError(f"kernel {name}: {what} must be a tuple of 1 to 3 ints, got {value!r}")
    dims = []
    for d, v in enumerate(value):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise KernelArgumentError(f"kernel {name}: {what}[{d}] must be an int, got {v!r}")
        if not 1 <= int(v) <= limits[d]:
            raise KernelArgumentError(
                f"kernel {name}: {what}[{d}] = {int(v)} is outside 1..{limits[d]} "
                "(an empty launch is an error on the GPU; skip it instead)"
            )
        dims.append(int(v))
    return tuple(dims + [1] * (3 - len(dims)))  # type: ignore[return-value]


def _expected_scalar(param: Param, real_dtype: np.dtype) -> tuple[type, ...]:
    if param.base == "real":
        return (real_dtype.type,)
    return _SCALAR_TYPES[param.base]


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a Python bool"
    if type(value) in (int, float):
        return f"a Python {type(value).__name__} ({value!r})"
    if isinstance(value, np.generic):
        return f"np.{type(value).__name__} ({value!r})"
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        module = type(value).__module__.split(".")[0]
        return f"a {module} array of dtype {value.dtype} and shape {value.shape}"
    return f"a {type(value).__name__}"


def _check_scalar(where: str, param: Param, value: Any, real_dtype: np.dtype) -> None:
    expected = _expected_scalar(param, real_dtype)
    ok = type(value) in expected and not isinstance(value, bool)
    if not ok:
        names = " or ".join("a Python float" if t is float else f"np.{t.__name__}" for t in expected)
        hint = ""
        if type(value) is int:
            hint = " (CuPy would pass a Python int as a 64-bit integer)"
        elif type(value) is float:
            hint = " (CuPy would pass a Python float as a double)"
        raise KernelArgumentError(f"{where} expects {names}, got {_describe(value)}{hint}")


def _check_pointer(
    where: str,
    param: Param,
    value: Any,
    real_dtype: np.dtype,
    array_type: type,
    size: int | None,
) -> None:
    dtype = real_dtype if param.base == "real" else _POINTER_DTYPES[param.base]
    kind = f"{array_type.__module__.split('.')[0]}.ndarray"
    if not isinstance(value, array_type):
        raise KernelArgumentError(f"{where} expects a {kind} of dtype {dtype}, got {_describe(value)}")
    if value.dtype != dtype:
        raise KernelArgumentError(f"{where} expects dtype {dtype}, got {value.dtype}")
    if not value.flags.c_contiguous:
        raise KernelArgumentError(f"{where} expects a C-contiguous array, got strides {value.strides}")
    if not param.const and not getattr(value.flags, "writeable", True):  # cupy has no flag
        raise KernelArgumentError(f"{where} is written by the kernel, but the array is read-only")
    if size is not None and value.size != size:
        raise KernelArgumentError(f"{where} expects {size} elements, got {value.size}")
