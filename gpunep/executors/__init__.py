"""Executors of the CUDA kernels in ``kernels/``: they build kernel modules.

:mod:`~gpunep.executors.kernel_source` finds and assembles the sources,
:mod:`~gpunep.executors.signature` parses the kernels' parameters,
:mod:`~gpunep.executors.arguments` checks every launch the way CuPy passes
it, and :mod:`~gpunep.executors.host` (g++ and OpenMP) or
:mod:`~gpunep.executors.cuda` (CuPy) compile them into a
:class:`~gpunep.executors.module.KernelModule`.
"""
