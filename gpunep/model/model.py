"""The NEP model users hold: :class:`Model`, its fields plus reading, writing and editing methods.

The methods delegate to the modules that do the work (:mod:`gpunep.model.io`,
:mod:`gpunep.model.editing`, :mod:`gpunep.model.restart`), which work on
:class:`~gpunep.model.fields.ModelFields` and so never import this module.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from gpunep.model import editing, io, restart
from gpunep.model.calorine_model import from_calorine, is_calorine_model
from gpunep.model.fields import ModelFields


class Model(ModelFields):
    """A NEP model (nep.txt), optionally with its SNES restart (nep.restart).

    The fields and sizes are :class:`~gpunep.model.fields.ModelFields`'; every
    editing method returns a new model and never modifies this one.
    """

    # ------------------------------------------------------------------- I/O
    def write(self, filename: str) -> None:
        """Write nep.txt (GPUMD's format, ``%15.7e`` values); atomic (temp file + rename)."""
        io.write_model(self, filename)

    def write_restart(self, filename: str) -> None:
        """Write nep.restart (``mu sigma`` per fitted parameter, nep.txt order)."""
        io.write_restart(self, filename)

    def read_restart(self, filename: str) -> None:
        """Load nep.restart into ``restart_parameters`` (checked against this architecture)."""
        self.restart_parameters = io.read_restart(self, filename)

    # -------------------------------------------- editing (gpunep.model.editing)
    def augment(self, *args: Any, **kwargs: Any) -> "Model":
        """Grow neurons / descriptor terms / add a charge head; see :func:`gpunep.model.editing.augment`."""
        return editing.augment(self, *args, **kwargs)

    def prune(self, *args: Any, **kwargs: Any) -> "Model":
        """Remove neurons / descriptor terms / the charge head; see :func:`gpunep.model.editing.prune`."""
        return editing.prune(self, *args, **kwargs)

    def remove_species(self, species: Sequence[str], **kwargs: Any) -> "Model":
        """Drop species; see :func:`gpunep.model.editing.remove_species`."""
        return editing.remove_species(self, species, **kwargs)

    def keep_species(self, species: Sequence[str], **kwargs: Any) -> "Model":
        """Keep only these species (original order); see :func:`gpunep.model.editing.keep_species`."""
        return editing.keep_species(self, species, **kwargs)

    def add_species(self, species: Sequence[str], seed: int | None = None, **kwargs: Any) -> "Model":
        """Append species with U(-1, 1) parameters; see :func:`gpunep.model.editing.add_species`."""
        return editing.add_species(self, species, seed, **kwargs)

    def reorder(self, species: Sequence[str]) -> "Model":
        """Permute the species; see :func:`gpunep.model.editing.reorder`."""
        return editing.reorder(self, species)

    def make_restart(self, *args: Any, **kwargs: Any) -> "Model":
        """A copy with restart parameters from the values; see :func:`gpunep.model.restart.make_restart`."""
        return restart.make_restart(self, *args, **kwargs)


def read_model(filename: "str | os.PathLike | Any",
               restart_file: str | os.PathLike | None = None) -> Model:
    """Read a NEP model file (nep.txt), optionally with its SNES restart file.

    Parameters
    ----------
    filename
        Path to nep.txt. Every flavour of docs/file-formats.md#model-file-header is understood: nep3/4/5,
        ``_zbl`` (universal, typewise, flexible), uniform or per-type cutoffs,
        ``l_max`` with 1–7 fields, ``_charge1/2``, ``_dipole``,
        ``_polarizability`` and ``_temperature``. Or a calorine ``Model``
        (``calorine.nep.read_model``), converted in memory with its restart
        parameters (:func:`gpunep.model.calorine_model.from_calorine`).
    restart_file
        Optional nep.restart, loaded into ``restart_parameters``.

    Raises
    ------
    OSError
        The file does not exist or cannot be read.
    ModelFileError
        (a ``ValueError``) naming the file, line and what was expected.
    ValueError
        A calorine model with features gpunep lacks or inconsistent arrays.
    """
    if is_calorine_model(filename):
        model = Model(**vars(from_calorine(filename)))
    else:
        model = Model(**vars(io.parse_model(filename)))
    if restart_file is not None:
        model.read_restart(restart_file)
    return model
