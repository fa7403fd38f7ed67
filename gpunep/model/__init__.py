"""NEP models: reading, writing, inspecting and editing (host numpy arrays)."""

from gpunep.model.editing import (
    add_species, augment, keep_species, neuron_importance, prune, remove_species, reorder,
)
from gpunep.model.elements import COVALENT_RADII, ELEMENTS, atomic_number, covalent_radius
from gpunep.model.generate import random_model
from gpunep.model.io import read_nepfile, write_nepfile
from gpunep.model.model import Model, read_model
from gpunep.model.restart import adaptive_sigma, make_restart

__all__ = [
    "COVALENT_RADII", "ELEMENTS", "Model", "atomic_number", "covalent_radius",
    "random_model", "read_model", "read_nepfile", "write_nepfile",
    "adaptive_sigma", "add_species", "augment", "keep_species", "make_restart",
    "neuron_importance", "prune", "remove_species", "reorder",
]
