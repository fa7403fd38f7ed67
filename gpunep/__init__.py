"""gpunep: evaluate and edit NEP models on NVIDIA GPUs (and CPUs), from Python."""

from gpunep.structures import Batch, BatchResult, pack

__version__ = "0.1.0"

__all__ = ["Batch", "BatchResult", "pack", "__version__"]
