"""Editing NEP models: augment, prune, and species operations.

Every operation returns a new :class:`~gpunep.model.Model` and never touches
its input. One edit is written once, as a *transform* of parameter trees
``{'ann': ..., 'radial': ..., 'angular': ...}`` with a *fill* for the parts it
creates, and applied three times: to the model's values, to the restart
``mu`` and to a 0/1 mask that marks new parts. New parts get
``sigma = sigma_new``; surviving parts get the re-opened
``sigma = max(sigma_floor, sigma_factor |mu|)`` (:func:`~gpunep.model.restart.adaptive_sigma`).

Descriptor columns are named by block (radial, angular l = 1..L, then the
extra invariants 222, 1111, 112, 123, 233, 134;
docs/descriptors.md#descriptor-vector), so adding or removing a block moves
the w0 columns and the q_scaler to exactly where the file layout needs them.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from gpunep.model import layout
from gpunep.model.elements import ELEMENTS
from gpunep.model.io import parameter_vector, restart_vectors
from gpunep.model.fields import MIN_L_MAX_3B, AnyModel, ModelFields
from gpunep.model.restart import (
    SIGMA_FACTOR,
    SIGMA_FLOOR,
    SIGMA_NEW,
    adaptive_sigma,
    check_sigma_settings,
    restart_from_trees,
    restart_trees,
)

EXTRA_TERMS = ("l_max_4b", "l_max_5b", "has_q_112", "has_q_123", "has_q_233", "has_q_134")
"""The optional angular invariants, in descriptor order (222, 1111, 112, 123, 233, 134)."""


# GPUMD's compile-time and trainer limits (docs/file-formats.md#gpumd-limits).
MAX_DIM = 103
MAX_DIM_ANGULAR = 90
MAX_NEURON = 120
MAX_TYPES = len(ELEMENTS)

Path = tuple
Fill = Callable[[Path, tuple[int, ...]], Any]
Trees = dict[str, Any]
Transform = Callable[[Trees, Fill], Trees]


# ------------------------------------------------------------- public edits
def augment(model: AnyModel, n_neuron: int | None = None, l_max_4b: int | None = None,
            l_max_5b: int | None = None, has_q_112: int | bool | None = None,
            has_q_123: int | bool | None = None, has_q_233: int | bool | None = None,
            has_q_134: int | bool | None = None, charge_head: bool = False, charge_mode: int = 2,
            sigma_factor: float = SIGMA_FACTOR, sigma_floor: float = SIGMA_FLOOR,
            sigma_new: float = SIGMA_NEW) -> AnyModel:
    """Grow neurons, enable descriptor terms and/or add a charge head, in one step.

    New parameters are zero (restart: ``mu = 0``, ``sigma = sigma_new``), so
    the edited model predicts exactly what ``model`` predicts: a zero neuron
    contributes ``w1 tanh(0) = 0`` and a zero w0 column ignores its input.
    New descriptor columns get ``q_scaler = 1``. A charge head makes a
    ``potential_with_charges`` model (qNEP) with ``w1_charge = 0`` (all charges
    zero) and ``sqrt_epsilon_infinity = 1`` (restart ``mu = 1``).

    Parameters
    ----------
    n_neuron
        New hidden-layer size, >= the current one (at most 120, GPUMD's limit).
    l_max_4b, l_max_5b, has_q_112, has_q_123, has_q_233, has_q_134
        Switch invariant blocks on (non-zero). A block that is already on may
        only be given the same or a larger value (a header change).
    charge_head
        Promote a NEP4 potential to a charge model with ``charge_mode`` (1 or 2).
    sigma_factor, sigma_floor, sigma_new
        Restart widths for kept and new parameters (used if a restart is loaded).

    Raises
    ------
    ValueError
        A request that would shrink the model (use :func:`prune`), a charge
        head on a model that is not a uniform-cutoff NEP4 potential, or a
        descriptor beyond GPUMD's limits.
    """
    check_sigma_settings(sigma_factor, sigma_floor, sigma_new)
    flags = _requested_flags(dict(l_max_4b=l_max_4b, l_max_5b=l_max_5b, has_q_112=has_q_112,
                                  has_q_123=has_q_123, has_q_233=has_q_233, has_q_134=has_q_134))
    _check_growing_flags(model, flags)
    target = model.copy()
    for name, value in flags.items():
        setattr(target, name, value)
    old_neurons = model.n_neuron
    if n_neuron is not None:
        target.n_neuron = _grown_neurons(old_neurons, n_neuron)
    if charge_head:
        _check_charge_head(model, charge_mode)
        target.model_type = "potential_with_charges"
        target.charge_mode = charge_mode
    _check_descriptor_limits(target)
    rows = list(range(old_neurons)) + [None] * (target.n_neuron - old_neurons)
    columns = _column_map(model, target)

    def transform(trees: Trees, fill: Fill) -> Trees:
        ann = _remap_networks(trees["ann"], (rows, rows), columns, fill)
        if charge_head:
            for name, net in ann.items():
                if isinstance(net, dict):
                    net["w1_charge"] = fill((name, "w1_charge"), (1, target.n_neuron))
            ann["sqrt_epsilon_infinity"] = fill(("sqrt_epsilon_infinity",), ())
        return {"ann": ann, "radial": trees["radial"], "angular": trees["angular"]}

    def silent(path: Path, shape: tuple[int, ...]) -> Any:
        # eps_inf = 1 is the vacuum value; every other new parameter is silent at zero.
        if path == ("sqrt_epsilon_infinity",):
            return 1.0
        return np.zeros(shape) if shape else 0.0

    _apply(model, target, transform, silent, sigma_factor, sigma_floor, sigma_new)
    target.q_scaler = _remap_columns(model.q_scaler, columns, fill_value=1.0)
    return _checked(target)


def prune(model: AnyModel, n_neuron: int | None = None, l_max_4b: int | None = None,
          l_max_5b: int | None = None, has_q_112: int | bool | None = None,
          has_q_123: int | bool | None = None, has_q_233: int | bool | None = None,
          has_q_134: int | bool | None = None, charge_head: bool = False,
          sigma_factor: float = SIGMA_FACTOR, sigma_floor: float = SIGMA_FLOOR) -> AnyModel:
    """Remove neurons, descriptor blocks and/or the charge head, in one step.

    Neurons are ranked by :func:`neuron_importance` (on ``model`` as it is)
    and the top ``n_neuron`` are kept in their original order; the two
    networks of a polarizability model are ranked separately. Turning a block
    off removes its w0 columns and q_scaler entries; lowering ``l_max_4b`` to
    another non-zero value changes only the header. ``charge_head=True``
    turns a charge model back into a plain potential. Surviving restart
    parameters get the re-opened sigma. Use :func:`gpunep.edit_cost.prune_cost`
    to see what the prune changes before retraining.

    Raises
    ------
    ValueError
        A request that would grow the model (use :func:`augment`) or a charge
        head removal on a model without one.
    """
    check_sigma_settings(sigma_factor, sigma_floor)
    flags = _requested_flags(dict(l_max_4b=l_max_4b, l_max_5b=l_max_5b, has_q_112=has_q_112,
                                  has_q_123=has_q_123, has_q_233=has_q_233, has_q_134=has_q_134))
    for name, value in flags.items():
        current = getattr(model, name)
        if value > current:
            if current == 0:
                raise ValueError(f"prune cannot turn {name} on (it is 0); use augment({name}={value})")
            raise ValueError(f"prune cannot raise {name} from {current} to {value}; use augment({name}={value})")
    target = model.copy()
    for name, value in flags.items():
        setattr(target, name, value)
    rows = (list(range(model.n_neuron)),) * 2
    if n_neuron is not None:
        n_neuron = _positive_int(n_neuron, "n_neuron")
        if n_neuron > model.n_neuron:
            raise ValueError(f"prune cannot grow n_neuron from {model.n_neuron} to {n_neuron}; "
                             f"use augment(n_neuron={n_neuron})")
        target.n_neuron = n_neuron
        rows = (_top_neurons(neuron_importance(model), n_neuron),
                _top_neurons(neuron_importance(model, second_network=True), n_neuron)
                if model.model_type == "polarizability" else [])
    if charge_head:
        if model.model_type != "potential_with_charges":
            raise ValueError(f"prune(charge_head=True) removes a charge head, but this model is a "
                             f"{model.model_type!r} model without one")
        target.model_type = "potential"
        target.charge_mode = None
        target.sqrt_epsilon_infinity = None
    columns = _column_map(model, target)

    def transform(trees: Trees, fill: Fill) -> Trees:
        ann = _remap_networks(trees["ann"], rows, columns, fill)
        if charge_head:
            ann.pop("sqrt_epsilon_infinity")
            for net in ann.values():
                if isinstance(net, dict):
                    del net["w1_charge"]
        return {"ann": ann, "radial": trees["radial"], "angular": trees["angular"]}

    _apply(model, target, transform, _no_new_parts, sigma_factor, sigma_floor, 0.0)
    target.q_scaler = _remap_columns(model.q_scaler, columns, fill_value=1.0)
    return _checked(target)


def remove_species(model: AnyModel, species: Sequence[str], sigma_factor: float = SIGMA_FACTOR,
                   sigma_floor: float = SIGMA_FLOOR) -> AnyModel:
    """Drop the listed species: their networks, descriptor pairs, cutoffs and ZBL rows.

    What remains predicts exactly what ``model`` predicts on structures made
    of the remaining species. A NEP3 model keeps its shared network.
    Surviving restart parameters get the re-opened sigma.
    """
    names = _species_list(species, "remove_species")
    for symbol in names:
        if symbol not in model.types:
            raise ValueError(f"remove_species: {symbol!r} is not a species of this model "
                             f"(species: {', '.join(model.types)})")
    kept = [s for s in model.types if s not in names]
    if not kept:
        raise ValueError("remove_species would remove every species of the model; "
                         "keep at least one (see keep_species)")
    return _select_species(model, kept, reopen=True, sigma_factor=sigma_factor, sigma_floor=sigma_floor)


def keep_species(model: AnyModel, species: Sequence[str], sigma_factor: float = SIGMA_FACTOR,
                 sigma_floor: float = SIGMA_FLOOR) -> AnyModel:
    """Keep only the listed species, in the model's original order (see :func:`remove_species`).

    Use :func:`reorder` afterwards for another order.
    """
    names = _species_list(species, "keep_species")
    if not names:
        raise ValueError("keep_species needs at least one species to keep")
    for symbol in names:
        if symbol not in model.types:
            raise ValueError(f"keep_species: {symbol!r} is not a species of this model "
                             f"(species: {', '.join(model.types)})")
    kept = [s for s in model.types if s in names]
    return _select_species(model, kept, reopen=True, sigma_factor=sigma_factor, sigma_floor=sigma_floor)


def reorder(model: AnyModel, species: Sequence[str]) -> AnyModel:
    """The same model with its species (type indices) in the order ``species``.

    Predictions do not change; neither does the restart (sigma is kept).
    """
    names = _species_list(species, "reorder")
    if sorted(names) != sorted(model.types):
        raise ValueError(f"reorder needs a permutation of the model's species "
                         f"({', '.join(model.types)}), got {', '.join(names) or 'nothing'}")
    return _select_species(model, names, reopen=False, sigma_factor=SIGMA_FACTOR, sigma_floor=SIGMA_FLOOR)


def add_species(model: AnyModel, species: Sequence[str], seed: int | None = None, *,
                cutoffs: Mapping[str, tuple[float, float]] | None = None,
                zbl_parameters: Mapping[tuple[str, str], Sequence[float]] | None = None,
                sigma_factor: float = SIGMA_FACTOR, sigma_floor: float = SIGMA_FLOOR,
                sigma_new: float = SIGMA_NEW) -> AnyModel:
    """Append new species with freshly initialised networks and descriptor pairs.

    Every new parameter (each new species' network, and each descriptor pair
    that involves a new species) is drawn from U(-1, 1), GPUMD's fresh
    initialisation; the model's values and the restart ``mu`` for them are
    the same draws, with ``sigma = sigma_new``. Draws are made with
    ``numpy.random.default_rng(seed)`` in a fixed order (new species in the
    given order, then pairs in type order), so a seed gives the same model in
    any process. NEP3 models keep their shared network. Existing species keep
    their values; with a restart they get the re-opened sigma.

    Parameters
    ----------
    species
        New element symbols (GPUMD's table, H .. Pu), appended in this order.
    seed
        Seed for the U(-1, 1) draws; None draws fresh entropy.
    cutoffs
        ``{symbol: (radial, angular)}`` for each new species; required (and
        only accepted) when the model has per-type cutoffs.
    zbl_parameters
        ``{(a, b): 10 values}`` for every new unordered pair, required (and
        only accepted) for flexible ZBL (``zbl 0 0``,
        docs/forces.md#zbl-flexible-parameters).
    """
    check_sigma_settings(sigma_factor, sigma_floor, sigma_new)
    added = _species_list(species, "add_species")
    if not added:
        raise ValueError("add_species needs at least one species to add")
    for symbol in added:
        if symbol not in ELEMENTS:
            raise ValueError(f"add_species: {symbol!r} is not an element symbol GPUMD knows "
                             f"(H .. Pu, {MAX_TYPES} elements; symbols are case-sensitive, e.g. 'Bi')")
    types = (*model.types, *added)
    if len(types) > MAX_TYPES:
        raise ValueError(f"add_species would give {len(types)} species, but GPUMD's element table has "
                         f"{MAX_TYPES}; this model already has {len(model.types)}")
    for symbol in added:
        if symbol in model.types:
            raise ValueError(f"add_species: {symbol!r} is already a species of this model "
                             f"(species: {', '.join(model.types)})")
    target = model.copy()
    target.types = types
    _extend_cutoffs(model, target, added, cutoffs)
    _extend_zbl(model, target, added, zbl_parameters)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"seed must be an integer or None, got {seed!r}")
    draws = _fresh_parameters(model, types, added, np.random.default_rng(seed))

    def transform(trees: Trees, fill: Fill) -> Trees:
        ann = dict(trees["ann"])
        if model.version != 3:
            for symbol in added:
                ann[symbol] = {key: fill((symbol, key), shape)
                               for key, shape in _network_shapes(model).items()}
        out = {"ann": ann}
        for kind in ("radial", "angular"):
            out[kind] = {(a, b): trees[kind][(a, b)] if (a, b) in trees[kind] else fill((kind, a, b), None)
                         for a in types for b in types}
        return out

    def fresh(path: Path, shape: tuple[int, ...] | None) -> Any:
        return copy.deepcopy(draws[path])

    _apply(model, target, transform, fresh, sigma_factor, sigma_floor, sigma_new)
    return _checked(target)


def neuron_importance(model: ModelFields, second_network: bool = False) -> np.ndarray:
    """Per-neuron importance, mean over networks of ``||w0[n, :]|| (|w1[n]| + |w1_charge[n]|)``.

    ``second_network`` ranks the scalar (``_polar``) network of a
    polarizability model instead of the tensor network.
    """
    suffix = "_polar" if second_network else ""
    if second_network and model.model_type != "polarizability":
        raise ValueError("only polarizability models have a second network")
    scores = []
    for name in layout.network_names(model.types, model.version):
        net = model.ann_parameters[name]
        weight = np.abs(np.asarray(net["w1" + suffix], dtype=np.float64).reshape(-1))
        if not second_network and "w1_charge" in net:
            weight = weight + np.abs(np.asarray(net["w1_charge"], dtype=np.float64).reshape(-1))
        scores.append(np.linalg.norm(np.asarray(net["w0" + suffix], dtype=np.float64), axis=1) * weight)
    return np.mean(scores, axis=0)


# ------------------------------------------------------ the tree machinery
def _value_trees(model: ModelFields) -> Trees:
    ann = copy.deepcopy(model.ann_parameters)
    if model.model_type == "potential_with_charges":
        ann["sqrt_epsilon_infinity"] = model.sqrt_epsilon_infinity
    return {"ann": ann, "radial": copy.deepcopy(model.radial_descriptor_weights),
            "angular": copy.deepcopy(model.angular_descriptor_weights)}


def _tree_map(function: Callable[..., Any], *trees: Any) -> Any:
    first = trees[0]
    if isinstance(first, dict):
        return {key: _tree_map(function, *(tree[key] for tree in trees)) for key in first}
    result = function(*trees)
    return float(result) if np.ndim(first) == 0 else np.asarray(result, dtype=np.float64)


def _apply(source: ModelFields, target: ModelFields, transform: Transform, fill: Fill, sigma_factor: float,
           sigma_floor: float, sigma_new: float, reopen: bool = True) -> None:
    """Apply ``transform`` to the values and, if loaded, the restart of ``source`` into ``target``."""
    values = transform(_value_trees(source), fill)
    ann = values["ann"]
    if target.model_type == "potential_with_charges":
        target.sqrt_epsilon_infinity = float(ann.pop("sqrt_epsilon_infinity"))
    target.ann_parameters = ann
    target.radial_descriptor_weights = values["radial"]
    target.angular_descriptor_weights = values["angular"]
    if source.restart_parameters is None:
        target.restart_parameters = None
        return
    mu = transform(copy.deepcopy(restart_trees(source, "mu")), fill)
    if reopen:
        mask = _tree_map(np.zeros_like, restart_trees(source, "mu"))
        is_new = transform(mask, lambda path, shape: _tree_map(np.ones_like, fill(path, shape)))
        sigma = _tree_map(lambda m, new: np.where(new > 0, sigma_new, adaptive_sigma(m, sigma_factor, sigma_floor)),
                          mu, is_new)
    else:
        sigma = transform(copy.deepcopy(restart_trees(source, "sigma")), fill)
    target.restart_parameters = restart_from_trees(mu, sigma)


def _no_new_parts(path: Path, shape: tuple[int, ...]) -> Any:
    raise AssertionError(f"an edit without new parameters asked for {path}")


def _checked(model: AnyModel) -> AnyModel:
    """Flatten the model (and restart) as the writers do, so no edit yields an unwritable model."""
    parameter_vector(model)
    if model.restart_parameters is not None:
        restart_vectors(model)
    return model


# ------------------------------------------------------ neurons and columns
def descriptor_columns(model: ModelFields) -> list[tuple[str, int]]:
    """A name for each descriptor component, in order (docs/descriptors.md#descriptor-vector).

    ``('radial', n)``, then ``('l1', n)`` .. ``('lL', n)`` for the 3-body
    blocks, then the enabled extras (``('l_max_4b', n)``, ...), and
    ``('temperature', 0)`` last for temperature models.
    """
    columns = [("radial", n) for n in range(model.n_max_radial + 1)]
    blocks = [f"l{l}" for l in range(1, model.l_max_3b + 1)]
    blocks += [name for name in EXTRA_TERMS if getattr(model, name)]
    columns += [(block, n) for block in blocks for n in range(model.n_max_angular + 1)]
    if model.model_type == "temperature":
        columns.append(("temperature", 0))
    assert len(columns) == model.n_descriptor
    return columns


def _column_map(source: ModelFields, target: ModelFields) -> list[int | None]:
    """For each target descriptor column, its source column (None: a new column)."""
    index = {name: i for i, name in enumerate(descriptor_columns(source))}
    return [index.get(name) for name in descriptor_columns(target)]


def _remap(old: np.ndarray, new: np.ndarray, rows: list[int | None], columns: list[int | None]) -> np.ndarray:
    """``new`` with the entries that have a source row and column copied from ``old``."""
    out = np.array(new, dtype=np.float64)
    new_rows = [i for i, r in enumerate(rows) if r is not None]
    new_cols = [j for j, c in enumerate(columns) if c is not None]
    old_rows = [rows[i] for i in new_rows]
    old_cols = [columns[j] for j in new_cols]
    out[np.ix_(new_rows, new_cols)] = np.asarray(old, dtype=np.float64)[np.ix_(old_rows, old_cols)]
    return out


def _remap_columns(vector: np.ndarray, columns: list[int | None], fill_value: float) -> np.ndarray:
    out = np.full(len(columns), fill_value)
    for j, c in enumerate(columns):
        if c is not None:
            out[j] = vector[c]
    return out


def _remap_networks(ann: dict[str, Any], rows: tuple[list, list], columns: list[int | None],
                    fill: Fill) -> dict[str, Any]:
    """Resize every network of an ANN tree: ``rows[0]`` / ``rows[1]`` map the neurons of
    the first / second (``_polar``) network, ``columns`` the descriptor components."""
    out: dict[str, Any] = {}
    for name, net in ann.items():
        if not isinstance(net, dict):
            out[name] = net
            continue
        out[name] = {}
        for key, value in net.items():
            neurons = rows[1] if key.endswith("_polar") else rows[0]
            if key.startswith("w0"):
                shape, row_map, col_map = (len(neurons), len(columns)), neurons, columns
            elif key.startswith("b0"):
                shape, row_map, col_map = (len(neurons), 1), neurons, [0]
            elif key.startswith("w1"):
                shape, row_map, col_map = (1, len(neurons)), [0], neurons
            else:
                out[name][key] = value
                continue
            new = fill((name, key), shape) if None in row_map or None in col_map else np.zeros(shape)
            out[name][key] = _remap(value, new, row_map, col_map)
    return out


def _top_neurons(importance: np.ndarray, n: int) -> list[int]:
    """Indices of the ``n`` most important neurons, in their original order (ties: lower index)."""
    return sorted(int(i) for i in np.argsort(-importance, kind="stable")[:n])


# ------------------------------------------------------------ species parts
def _select_species(model: AnyModel, kept: list[str], reopen: bool, sigma_factor: float,
                    sigma_floor: float) -> AnyModel:
    """Keep the species ``kept`` (in that order): subset and/or permutation."""
    check_sigma_settings(sigma_factor, sigma_floor)
    target = model.copy()
    target.types = tuple(kept)
    where = [model.types.index(s) for s in kept]
    if isinstance(model.radial_cutoff, list):
        if len(kept) == 1:
            # One species: the file's cutoff line is the uniform form (docs/file-formats.md#model-file-header).
            target.radial_cutoff = float(model.radial_cutoff[where[0]])
            target.angular_cutoff = float(model.angular_cutoff[where[0]])
        else:
            target.radial_cutoff = [model.radial_cutoff[i] for i in where]
            target.angular_cutoff = [model.angular_cutoff[i] for i in where]
    if model.zbl_parameters is not None:
        target.zbl_parameters = {pair: _zbl_row(model.zbl_parameters, pair).copy()
                                 for pair in layout.zbl_pairs(target.types)}

    def transform(trees: Trees, fill: Fill) -> Trees:
        names = layout.network_names(target.types, model.version)
        ann = {name: trees["ann"][name] for name in names}
        ann.update({key: value for key, value in trees["ann"].items() if not isinstance(value, dict)})
        out = {"ann": ann}
        for kind in ("radial", "angular"):
            out[kind] = {(a, b): trees[kind][(a, b)] for a in kept for b in kept}
        return out

    _apply(model, target, transform, _no_new_parts, sigma_factor, sigma_floor, 0.0, reopen=reopen)
    return _checked(target)


def _zbl_row(table: Mapping[tuple[str, str], np.ndarray], pair: tuple[str, str]) -> np.ndarray:
    """The flexible-ZBL row of an unordered pair, stored under either order."""
    if pair in table:
        return np.asarray(table[pair], dtype=np.float64)
    return np.asarray(table[(pair[1], pair[0])], dtype=np.float64)


def _network_shapes(model: ModelFields) -> dict[str, tuple[int, ...]]:
    """Shape of every per-species array of a network, in file order."""
    first, second = layout.network_keys(model.model_type, model.version)
    shapes = {}
    for key in (*first, *second):
        if key.startswith("w0"):
            shapes[key] = (model.n_neuron, model.n_descriptor)
        elif key.startswith("b0"):
            shapes[key] = (model.n_neuron, 1)
        elif key == "b1_species":
            shapes[key] = ()
        else:
            shapes[key] = (1, model.n_neuron)
    return shapes


def _fresh_parameters(model: ModelFields, types: tuple[str, ...], added: list[str],
                      rng: np.random.Generator) -> dict[Path, Any]:
    """U(-1, 1) draws for every new part, in a fixed order (networks, then radial, then angular pairs)."""
    draws: dict[Path, Any] = {}
    if model.version != 3:
        for symbol in added:
            for key, shape in _network_shapes(model).items():
                draws[(symbol, key)] = float(rng.uniform(-1.0, 1.0)) if shape == () else rng.uniform(-1.0, 1.0, shape)
    for kind, n_max, n_basis in (("radial", model.n_max_radial, model.n_basis_radial),
                                 ("angular", model.n_max_angular, model.n_basis_angular)):
        for a in types:
            for b in types:
                if a in added or b in added:
                    draws[(kind, a, b)] = rng.uniform(-1.0, 1.0, (n_max + 1, n_basis + 1))
    return draws


def _extend_cutoffs(model: ModelFields, target: ModelFields, added: list[str],
                    cutoffs: Mapping[str, tuple[float, float]] | None) -> None:
    if not isinstance(model.radial_cutoff, list):
        if cutoffs is not None:
            raise ValueError("this model has one radial and one angular cutoff for all species; "
                             "cutoffs= is only for models with per-type cutoffs")
        return
    missing = [s for s in added if cutoffs is None or s not in cutoffs]
    if missing:
        raise ValueError(f"this model has per-type cutoffs; give the new species' cutoffs, e.g. "
                         f"add_species({added!r}, cutoffs={{{missing[0]!r}: (radial, angular)}}) "
                         f"(missing: {', '.join(missing)})")
    extra = [s for s in cutoffs if s not in added]
    if extra:
        raise ValueError(f"cutoffs given for species that are not being added: {', '.join(map(str, extra))}")
    radial, angular = list(model.radial_cutoff), list(model.angular_cutoff)
    for symbol in added:
        pair = cutoffs[symbol]
        if len(pair) != 2:
            raise ValueError(f"cutoffs[{symbol!r}] must be (radial, angular), got {pair!r}")
        rc_r, rc_a = float(pair[0]), float(pair[1])
        if not (math.isfinite(rc_r) and math.isfinite(rc_a) and 0 < rc_a <= rc_r):
            raise ValueError(f"cutoffs[{symbol!r}] must satisfy 0 < angular <= radial, got {pair!r}")
        radial.append(rc_r)
        angular.append(rc_a)
    target.radial_cutoff, target.angular_cutoff = radial, angular


def _extend_zbl(model: ModelFields, target: ModelFields, added: list[str],
                zbl_parameters: Mapping[tuple[str, str], Sequence[float]] | None) -> None:
    if model.zbl_parameters is None:
        if zbl_parameters is not None:
            raise ValueError("zbl_parameters= is only for models with flexible ZBL ('zbl 0 0')")
        return
    new_pairs = [pair for pair in layout.zbl_pairs(target.types) if pair[0] in added or pair[1] in added]
    given = {}
    for pair, row in (zbl_parameters or {}).items():
        key = tuple(pair)
        if key not in new_pairs and key[::-1] not in new_pairs:
            raise ValueError(f"zbl_parameters[{pair!r}] is not a new type pair; new pairs: {new_pairs}")
        values = np.asarray(row, dtype=np.float64)
        if values.shape != (10,) or not np.all(np.isfinite(values)):
            raise ValueError(f"zbl_parameters[{pair!r}] must be 10 finite numbers "
                             "[r_in, r_out, a1, b1, a2, b2, a3, b3, a4, b4], docs/forces.md#zbl-flexible-parameters")
        given[key] = values
    missing = [pair for pair in new_pairs if pair not in given and pair[::-1] not in given]
    if missing:
        raise ValueError(f"this model uses flexible ZBL; give the 10 parameters of every new pair, e.g. "
                         f"add_species({added!r}, zbl_parameters={{{missing[0]!r}: [r_in, r_out, a1, b1, "
                         f"a2, b2, a3, b3, a4, b4], ...}}) (missing: {missing})")
    table = {pair: np.asarray(row, dtype=np.float64).copy() for pair, row in model.zbl_parameters.items()}
    table.update({pair: _zbl_row(given, pair).copy() for pair in new_pairs})
    target.zbl_parameters = {pair: _zbl_row(table, pair) for pair in layout.zbl_pairs(target.types)}


# ------------------------------------------------------------------ checks
def _species_list(species: Iterable[str], what: str) -> list[str]:
    if isinstance(species, str):
        raise ValueError(f"{what} takes a list of element symbols, e.g. [{species!r}], not a string")
    names = list(species)
    for symbol in names:
        if not isinstance(symbol, str):
            raise ValueError(f"{what}: species must be element symbols (str), got {symbol!r}")
    repeated = sorted({s for s in names if names.count(s) > 1})
    if repeated:
        raise ValueError(f"{what}: species listed more than once: {', '.join(repeated)}")
    return names


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_growing_flags(model: ModelFields, flags: dict[str, int]) -> None:
    """Refuse invariant settings that augment cannot make: lower than now, or without their l_max_3b."""
    for name, value in flags.items():
        current = getattr(model, name)
        if value < current:
            if value == 0:
                raise ValueError(f"augment cannot turn {name} off (it is {current}); "
                                 f"use prune({name}=0) to remove that descriptor block")
            raise ValueError(f"augment cannot lower {name} from {current} to {value}; use prune({name}={value})")
        if value and model.l_max_3b < MIN_L_MAX_3B[name]:
            raise ValueError(f"{name} needs l_max_3b >= {MIN_L_MAX_3B[name]} (its invariant reads "
                             f"those 3-body sums, docs/descriptors.md#invariant-requirements); this model has l_max_3b = {model.l_max_3b}")


def _grown_neurons(old_neurons: int, n_neuron: Any) -> int:
    """The hidden-layer size augment grows to: an integer, not smaller, within GPUMD's limit."""
    n_neuron = _positive_int(n_neuron, "n_neuron")
    if n_neuron < old_neurons:
        raise ValueError(f"augment cannot reduce n_neuron from {old_neurons} to {n_neuron}; "
                         f"use prune(n_neuron={n_neuron})")
    if n_neuron > MAX_NEURON:
        raise ValueError(f"n_neuron={n_neuron} exceeds GPUMD's limit of {MAX_NEURON} neurons")
    return n_neuron


def _requested_flags(requested: dict[str, Any]) -> dict[str, int]:
    flags = {}
    for name, value in requested.items():
        if value is None:
            continue
        if isinstance(value, (bool, np.bool_)):
            value = int(value)
        if not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer (0 = off), got {value!r}")
        flags[name] = int(value)
    return flags


def _check_charge_head(model: ModelFields, charge_mode: int) -> None:
    if model.model_type == "potential_with_charges":
        raise ValueError("this model already has a charge head (model_type 'potential_with_charges')")
    if model.model_type != "potential":
        raise ValueError(f"a charge head can only be added to a potential model, not a "
                         f"{model.model_type!r} model")
    if model.version != 4:
        raise ValueError(f"charge models (qNEP) exist only for NEP4; this is a NEP{model.version} model")
    if isinstance(model.radial_cutoff, list) or model.radial_typewise_cutoff_factor is not None:
        raise ValueError("charge models (qNEP) accept only one radial and one angular cutoff for all "
                         "species (docs/charges.md#charge-model-restrictions); this model has per-type cutoffs")
    if charge_mode not in (1, 2) or isinstance(charge_mode, bool):
        raise ValueError(f"charge_mode must be 1 (real + reciprocal space) or 2 (reciprocal only), "
                         f"got {charge_mode!r}")


def _check_descriptor_limits(model: ModelFields) -> None:
    if model.n_descriptor_angular > MAX_DIM_ANGULAR or model.n_descriptor > MAX_DIM:
        raise ValueError(f"the descriptor would have {model.n_descriptor} components "
                         f"({model.n_descriptor_angular} angular); GPUMD allows at most {MAX_DIM} "
                         f"({MAX_DIM_ANGULAR} angular), docs/file-formats.md#gpumd-limits")
