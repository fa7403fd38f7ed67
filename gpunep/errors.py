"""Typed errors with stable messages.

Every error a user can trigger through bad input derives from a builtin
(``ValueError``, ``RuntimeError``) so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class ModelFileError(ValueError):
    """A model, restart or nep.in file that cannot be parsed.

    The message always names the file and, where there is one, the line.
    """

    def __init__(self, filename: str, message: str, line: int | None = None):
        self.filename = str(filename)
        self.line = line
        where = f"{self.filename}, line {line}" if line is not None else self.filename
        super().__init__(f"{where}: {message}")


class UnsupportedModelError(NotImplementedError):
    """A model type or feature that this evaluator does not support (yet)."""


class BackendUnavailableError(RuntimeError):
    """A requested backend (CuPy/GPU, host compiler) is not available."""


class BackendFallbackWarning(UserWarning):
    """``backend='auto'`` runs on the CPU although CuPy is installed; the message says why the GPU cannot be used."""


class KernelCompileError(RuntimeError):
    """A kernel failed to compile; the message holds the compiler log."""


class KernelArgumentError(TypeError):
    """A kernel argument does not match the kernel's signature."""


class StructureError(ValueError):
    """A structure that cannot be evaluated, named by where it came from.

    The message reads ``"<where>: <why>"``, e.g. ``"train.xyz, frame 3 (line
    757): atoms 0 and 1 ... are at the same position ..."``; ``where`` is
    kept as an attribute and the original error as ``__cause__`` (its class
    says what went wrong: a ``ValueError`` for bad geometry, a
    ``FloatingPointError`` for a non-finite result, ...).
    """

    def __init__(self, where: str, message: str):
        self.where = where
        super().__init__(f"{where}: {message}")


class StructureWarning(UserWarning):
    """A structure that is evaluated, but perhaps not as its author meant (names the structure)."""
