"""Error tables: RMSE and max |Δ| per property, per species and per config_type.

Properties and units follow GPUMD's loss.out and ``*_train.out`` files
(docs/file-formats.md#gpumd-output-files): energy per atom (eV/atom), force components (eV/Å), virial
per atom, six components (eV/atom); charge models add the raw charges and
the nine Born effective charge components (e); dipole and polarizability
models have their dipole (3) and polarizability (6: xx yy zz xy yz zx) per
atom, in the units of the training data. Tables print energies, forces,
virials and charges in milli-units. For a per-atom property (force) a species
row covers the atoms of that species; for a per-structure property (energy,
virial) it covers the structures that contain the species. Values whose
reference is NaN (absent) are left out; a property with nothing to compare
has no rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from gpunep.properties import COMPARED, PROPERTIES


@dataclass(frozen=True)
class ErrorRow:
    """One line of an :class:`ErrorTable` (values in the property's unit, e.g. eV/atom)."""

    property: str
    group: str          # 'all', 'species' or 'config_type'
    label: str          # '' for 'all', else the species or config_type
    count: int          # number of values (components) compared
    rmse: float
    max_abs: float


@dataclass
class ErrorTable:
    """RMSEs and max |Δ| of several properties over groups of a data set."""

    rows: list[ErrorRow] = field(default_factory=list)
    title: str = ""

    def row(self, prop: str, species: str | None = None, config_type: str | None = None) -> ErrorRow:
        """The row of ``prop`` over everything, one species or one config_type."""
        if species is not None and config_type is not None:
            raise ValueError("give a species or a config_type, not both")
        group, label = (("species", species) if species is not None else
                        ("config_type", config_type) if config_type is not None else ("all", ""))
        for row in self.rows:
            if (row.property, row.group, row.label) == (prop, group, label):
                return row
        known = sorted({(r.property, r.group, r.label) for r in self.rows})
        raise KeyError(f"no {prop!r} row for {group} {label!r} (rows: {known})")

    def rmse(self, prop: str, species: str | None = None, config_type: str | None = None) -> float:
        """RMSE of ``prop`` in its unit (eV/atom, eV/Å)."""
        return self.row(prop, species, config_type).rmse

    def max_abs(self, prop: str, species: str | None = None, config_type: str | None = None) -> float:
        """Largest |Δ| of ``prop`` in its unit."""
        return self.row(prop, species, config_type).max_abs

    def __getitem__(self, prop: str) -> float:
        return self.rmse(prop)

    @property
    def properties(self) -> list[str]:
        return list(dict.fromkeys(row.property for row in self.rows))

    def format(self) -> str:
        """The table in meV units, one line per row.

        A group row that covers exactly what the property's 'all' row
        covers (every structure holds that species, one config_type) is left
        out of the text; it stays in :attr:`rows`.
        """
        header = f"{'property':<14} {'group':<24} {'n':>9} {'RMSE':>12} {'max |Δ|':>12}  unit"
        lines = [self.title, header] if self.title else [header]
        overall = {row.property: row for row in self.rows if row.group == "all"}
        omitted = 0
        for row in self.rows:
            whole = overall.get(row.property)
            if row.group != "all" and whole is not None and (row.count, row.rmse, row.max_abs) == (
                    whole.count, whole.rmse, whole.max_abs):
                omitted += 1
                continue
            prop = PROPERTIES[row.property]
            unit, factor = prop.table_unit, prop.table_scale
            group = "all" if row.group == "all" else f"{row.group} {row.label}"
            lines.append(f"{row.property:<14} {group:<24} {row.count:>9} "
                         f"{row.rmse * factor:>12.6g} {row.max_abs * factor:>12.6g}  {unit}")
        if not self.rows:
            lines.append("(nothing to compare: no reference values)")
        if omitted:
            lines.append(f"({omitted} species/config_type rows equal to their 'all' row not shown)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def error_table(
    predicted: dict[str, np.ndarray],
    reference: dict[str, np.ndarray],
    atom_species: Sequence[str] | np.ndarray,
    offsets: np.ndarray,
    config_types: Sequence[str],
    title: str = "",
) -> ErrorTable:
    """Compare ``predicted`` with ``reference`` property by property.

    The compared properties of the property table have rows; others in the
    inputs (the stress, derived from the virial) are left out.

    Parameters
    ----------
    predicted, reference : ``{'energy': (S,), 'force': (N, 3), 'virial': (S, 6), ...}``
        (any keys of :data:`gpunep.properties.PROPERTIES`) in its units; NaN in ``reference`` marks an
        absent value. Properties missing from either side are skipped.
    atom_species : (N,) chemical symbol per atom
    offsets : (S + 1,) the atoms of structure s are ``offsets[s]:offsets[s + 1]``
    config_types : (S,) label per structure ('' = none)
    """
    atom_species = np.asarray(atom_species)
    n_structures = len(offsets) - 1
    structure_of_atom = np.repeat(np.arange(n_structures), np.diff(offsets))
    species_list = list(dict.fromkeys(atom_species.tolist()))
    contains = {sp: np.zeros(n_structures, dtype=bool) for sp in species_list}
    for sp in species_list:
        contains[sp][np.unique(structure_of_atom[atom_species == sp])] = True
    config_types = np.asarray(list(config_types), dtype=object)
    labelled = [c for c in dict.fromkeys(config_types.tolist()) if c]

    table = ErrorTable(title=title)
    for prop in COMPARED:
        per = PROPERTIES[prop].per
        if prop not in predicted or prop not in reference:
            continue
        pred = np.asarray(predicted[prop], dtype=np.float64).reshape(len(predicted[prop]), -1)
        ref = np.asarray(reference[prop], dtype=np.float64).reshape(len(reference[prop]), -1)
        if pred.shape != ref.shape:
            raise ValueError(f"{prop}: predicted shape {pred.shape} differs from reference {ref.shape}")
        present = np.all(np.isfinite(ref), axis=1)
        if not present.any():
            continue
        diff = pred - ref
        groups = [("all", "", np.ones(len(pred), dtype=bool))]
        for sp in species_list:
            groups.append(("species", sp, atom_species == sp if per == "atom" else contains[sp]))
        for label in labelled:
            member = config_types == label
            groups.append(("config_type", label, member[structure_of_atom] if per == "atom" else member))
        for group, label, mask in groups:
            selected = diff[mask & present]
            if selected.size == 0:
                continue
            table.rows.append(ErrorRow(
                property=prop, group=group, label=label, count=int(selected.size),
                rmse=float(np.sqrt(np.mean(selected**2))), max_abs=float(np.max(np.abs(selected)))))
    return table
