"""Plain float64 numpy reference implementation of NEP (the formulas of docs/).

``evaluate(model, batch)`` gives energies, forces and virials of potentials,
plus charges and Born effective charges of charge models (electrostatics
included) and the dipoles or polarizabilities of tensor models;
``compute_descriptors(model, batch)`` the scaled per-atom descriptors.
The Ewald pieces, written per structure over an explicit k-vector list for
the kernels to share, are in :mod:`gpunep.reference.ewald`.
"""

from gpunep.reference.evaluate import compute_descriptors, evaluate

__all__ = ["evaluate", "compute_descriptors"]
