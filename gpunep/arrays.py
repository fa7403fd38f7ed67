"""Arrays of any library in and out: where an array lives, its host copy, and results made like it.

:func:`gpunep.evaluate` takes numpy arrays, torch tensors, CuPy arrays or
anything else that speaks DLPack (``__dlpack__`` / ``__dlpack_device__``),
and returns its results as arrays of the library and on the device of the
positions it was given. This module knows the libraries; the evaluation
knows none of them.

Results reach a CPU library without a copy (DLPack: numpy's buffer becomes
the torch tensor's). Inputs on the GPU a cuda backend runs on are read there
and results made there, shared through DLPack (:func:`on_device`,
:func:`like_device_input`); other GPU inputs are copied to the host for the
evaluation and results copied back (:func:`to_host`, :func:`like_input`),
the only places that move data between devices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: DLPack's device types (dlpack.h, ``DLDeviceType``) by number, as messages name them
DLPACK_DEVICES = {1: "cpu", 2: "cuda", 3: "cuda_host", 4: "opencl", 7: "vulkan", 8: "metal",
                  9: "vpi", 10: "rocm", 11: "rocm_host", 13: "cuda_managed", 14: "oneapi"}
_CPU = 1
_HOST_VISIBLE = (1, 3)   # CPU memory and pinned host memory: numpy reads both directly


@dataclass(frozen=True)
class Placement:
    """Which library holds an array and on which device.

    Attributes
    ----------
    library : the top-level module of the array's type (``'numpy'``, ``'torch'``,
        ``'cupy'``, ...); ``'numpy'`` for Python numbers and sequences
    device : DLPack's ``(device_type, device_id)``; ``(1, 0)`` is the CPU
    example : an array of that library on that device (results are made like it)
    """

    library: str
    device: tuple[int, int]
    example: Any = field(default=None, compare=False, repr=False)

    @property
    def device_name(self) -> str:
        kind, index = self.device
        name = DLPACK_DEVICES.get(kind, f"DLPack device type {kind}")
        return name if kind == _CPU else f"{name}:{index}"

    @property
    def on_host(self) -> bool:
        return self.device[0] in _HOST_VISIBLE


HOST = Placement("numpy", (_CPU, 0))


def placement_of(value: Any) -> Placement | None:
    """Where ``value`` lives; None for Python numbers, bools and sequences (host data of no library)."""
    if isinstance(value, (bool, int, float, list, tuple)) or value is None:
        return None
    library = type(value).__module__.split(".")[0]
    if library == "numpy":
        return Placement("numpy", (_CPU, 0), value)
    device = getattr(value, "__dlpack_device__", None)
    if device is None:
        raise TypeError(f"cannot read a {type(value).__module__}.{type(value).__name__}: give a numpy "
                        "array, a torch tensor, a CuPy array or another array with __dlpack__")
    kind, index = device()
    return Placement(library, (int(kind), int(index)), value)


def common_placement(arrays: dict[str, Any], leading: str) -> Placement:
    """The placement of ``arrays[leading]``, after checking that every array is on its device.

    Python numbers and sequences go anywhere; arrays of other libraries on
    the same device are accepted (they are read, never returned).

    Raises
    ------
    ValueError
        Two arrays on different devices (names both and their devices).
    """
    placements = {name: placement_of(value) for name, value in arrays.items()}
    lead = placements[leading] or HOST
    for name, where in placements.items():
        if where is not None and where.device != lead.device:
            raise ValueError(f"{leading} is on {lead.device_name} but {name} is on "
                             f"{where.device_name}: put every array on one device")
    return lead


def to_host(value: Any, name: str) -> np.ndarray:
    """A numpy view or copy of ``value`` (any library, any device), for the evaluation.

    CPU arrays are shared through DLPack where the library allows it; GPU
    arrays are copied to the host. Torch tensors that require gradients are
    read detached (gpunep's results are not differentiable by torch).
    """
    where = placement_of(value)
    if where is None or where.library == "numpy":
        return np.asarray(value)
    if where.library == "torch":
        # .numpy() shares a CPU tensor's memory; bool tensors, which not every numpy
        # reads through DLPack, included
        return value.detach().cpu().numpy()
    if where.library == "cupy":
        return value.get()
    if where.on_host:
        return np.from_dlpack(value)
    raise TypeError(f"{name}: a {where.library} array on {where.device_name} cannot be copied to the "
                    "host by gpunep; give numpy, torch or CuPy arrays, or host arrays")


def on_device(value: Any, xp: Any) -> Any:
    """``value``, an array on a CUDA device, as an array of ``xp`` (CuPy) without a copy (DLPack).

    Torch tensors that require gradients are read detached, as by :func:`to_host`.
    """
    if isinstance(value, xp.ndarray):
        return value
    if type(value).__module__.split(".")[0] == "torch":
        value = value.detach()
    return xp.from_dlpack(value)


def like_device_input(values: Any, where: Placement) -> Any:
    """``values``, a CuPy array on ``where``'s device, as an array of ``where``'s library
    there: the same array for CuPy, else shared through DLPack (no copy)."""
    if where.library == "cupy":
        return values
    module = __import__(where.library)
    return module.from_dlpack(values)


def like_input(values: np.ndarray, where: Placement) -> Any:
    """``values`` as an array of ``where``'s library on its device (the results of an evaluation).

    numpy arrays pass through; a CPU library gets the same memory through
    DLPack (no copy); a GPU library gets a copy on the input's device.
    """
    if where.library == "numpy":
        return values
    if where.library == "torch":
        import torch

        shared = torch.from_numpy(values) if values.flags.writeable else torch.tensor(values)
        return shared if where.on_host else shared.to(where.example.device)
    if where.library == "cupy":
        import cupy

        with cupy.cuda.Device(where.device[1]):
            return cupy.asarray(values)
    module = __import__(where.library)
    if where.on_host and hasattr(module, "from_dlpack"):
        return module.from_dlpack(values)
    raise TypeError(f"gpunep cannot make {where.library} arrays on {where.device_name}; "
                    "give numpy, torch or CuPy arrays")
