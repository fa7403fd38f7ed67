"""NEP models in TorchSim: :class:`NEPModel`, a TorchSim ``ModelInterface`` over :func:`gpunep.evaluate`.

TorchSim (the ``torch-sim-atomistic`` package, Python >= 3.11; install with
``pip install 'gpunep[torchsim]'``) batches many systems as flat atoms with
a per-atom ``system_idx``, which is the layout of a gpunep batch, so a whole
TorchSim state is one evaluation. Units and signs are TorchSim's and ASE's:
eV, eV/Å, stress ``-W / V`` in eV/Å³.
"""

from __future__ import annotations

import os
from typing import Any

try:
    import torch
    import torch_sim
    from torch_sim.models.interface import ModelInterface
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("gpunep.torchsim needs TorchSim: pip install 'gpunep[torchsim]' "
                      "(torch-sim-atomistic, Python >= 3.11)") from exc

from gpunep.backends import get_backend
from gpunep.charge_options import charge_options
from gpunep.evaluation import evaluate
from gpunep.model import Model, read_model

_ENERGY_MODELS = ("potential", "potential_with_charges")


class NEPModel(ModelInterface):
    """A NEP model as a TorchSim model: energies, forces and stresses of every system of a state.

    Parameters
    ----------
    model : a :class:`~gpunep.model.Model`, a nep.txt path or a calorine ``Model``
        (a potential or a charge model)
    backend : ``'auto'`` (cuda with a GPU, else host), ``'cuda'``, ``'host'``
        or ``'reference'`` (see :func:`gpunep.backends.get_backend`)
    precision : None (the backend's default: float32 for the kernels, as
        GPUMD), ``'float32'`` or ``'float64'``
    device : the torch device of the results; default cuda for the cuda
        backend, else cpu
    dtype : the torch dtype of the results (TorchSim's states use float64 by default)
    compute_stress, compute_forces : whether :meth:`forward` returns ``stress`` / ``forces``
    per_atom_energies, per_atom_stresses : also return ``energies`` (N,) and
        ``stresses`` (N, 3, 3), the per-atom ``-W_i / V`` that sum to the stress
    kspace, mean_d_correction : charge models' options, as for
        :class:`~gpunep.calculator.NEPCalculator`

    Notes
    -----
    Charge models also return ``charges`` (N,), and take the net charge of
    each system from the state's ``charge`` (a per-system attribute of newer
    TorchSim states) where it has one, else neutral systems. The backend
    that ran is ``model.backend.name``; nothing is differentiable by torch
    (forces and stresses come from the kernels, not from autograd).
    """

    def __init__(self, model: Model | str | os.PathLike | Any, *, backend: str = "auto",
                 precision: str | None = None, device: str | torch.device | None = None,
                 dtype: torch.dtype = torch.float64, compute_stress: bool = True,
                 compute_forces: bool = True, per_atom_energies: bool = False,
                 per_atom_stresses: bool = False, kspace: str = "truncated",
                 mean_d_correction: bool = True):
        super().__init__()
        self.model = model if isinstance(model, Model) else read_model(model)
        if self.model.model_type not in _ENERGY_MODELS:
            raise ValueError(f"a {self.model.model_type!r} model has no energy and forces to drive "
                             "dynamics; NEPModel takes potentials and charge models")
        options = charge_options(self.model.model_type, kspace, mean_d_correction)
        self.backend = get_backend(self.model, backend, precision, **options)
        if device is None:
            device = "cuda" if self.backend.name == "cuda" else "cpu"
        self._device = torch.device(device)
        self._dtype = dtype
        self._compute_stress = bool(compute_stress)
        self._compute_forces = bool(compute_forces)
        self.per_atom_energies = bool(per_atom_energies)
        self.per_atom_stresses = bool(per_atom_stresses)

    def properties(self) -> tuple[str, ...]:
        """What :meth:`forward` returns, as :func:`gpunep.evaluate` names them."""
        wanted = ["energy"]
        for name, on in (("forces", self._compute_forces), ("stress", self._compute_stress),
                         ("energies", self.per_atom_energies), ("stresses", self.per_atom_stresses),
                         ("charges", self.model.model_type == "potential_with_charges")):
            if on:
                wanted.append(name)
        return tuple(wanted)

    def forward(self, state: "torch_sim.SimState | dict[str, torch.Tensor]",
                **kwargs: Any) -> dict[str, torch.Tensor]:
        """Energy (S,), forces (N, 3) and stress (S, 3, 3) of every system of ``state``.

        Per-atom ``energies`` and ``stresses`` when asked at construction,
        ``charges`` for charge models; every tensor on :attr:`device` in
        :attr:`dtype`.
        """
        if isinstance(state, dict):
            state = torch_sim.SimState(**state, masses=torch.ones_like(state["positions"][:, 0]))
        charge = getattr(state, "charge", None)
        total_charge = charge if self.model.model_type == "potential_with_charges" else None
        results = evaluate(self.backend, state.positions, state.atomic_numbers,
                           state.row_vector_cell, state.pbc, state.system_idx,
                           total_charge=total_charge, properties=self.properties())
        return {name: value.to(device=self._device, dtype=self._dtype)
                for name, value in results.items()}
