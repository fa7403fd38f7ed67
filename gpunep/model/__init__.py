"""NEP models: reading, writing, inspecting and editing (host numpy arrays)."""

from gpunep.model.elements import COVALENT_RADII, ELEMENTS, atomic_number, covalent_radius
from gpunep.model.generate import random_model
from gpunep.model.io import read_model, read_nepfile, write_nepfile
from gpunep.model.model import Model

__all__ = [
    "COVALENT_RADII", "ELEMENTS", "Model", "atomic_number", "covalent_radius",
    "random_model", "read_model", "read_nepfile", "write_nepfile",
]
