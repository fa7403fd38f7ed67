"""Reading and writing nep.txt, nep.restart and nep.in (docs/file-formats.md).

Parsing is strict: every problem is a :class:`~gpunep.errors.ModelFileError`
naming the file and line. Writers go through :func:`atomic_write`, so a
failure never leaves a half-written file.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Any, Callable

import numpy as np

from gpunep.errors import ModelFileError
from gpunep.model import layout
from gpunep.model.c_text import (C_DECIMAL, C_INTEGER, C_REAL, describe_character, other_blank,
                                 split_blanks, strip_byte_order_marks)
from gpunep.model.elements import ELEMENTS
from gpunep.model.fields import ModelFields, _l_max_fields

_TOKEN = re.compile(r"^nep([345])(_zbl)?(_temperature|_dipole|_polarizability|_charge\d|"
                    r"_vdw|_charge_vdw)?$")
_SUFFIX_TYPE = {None: "potential", "_temperature": "temperature", "_dipole": "dipole",
                "_polarizability": "polarizability", "_charge1": "potential_with_charges",
                "_charge2": "potential_with_charges"}


class _Lines:
    """The lines of a file with 1-based numbers, for precise error messages."""

    def __init__(self, filename: str | os.PathLike):
        self.filename = str(filename)
        try:
            # utf-8-sig: a byte order mark (some Windows editors write one) opens the file unread
            with open(filename, encoding="utf-8-sig", newline="") as handle:
                text = handle.read()
        except UnicodeDecodeError as exc:
            raise ModelFileError(self.filename, f"not a text file ({exc.reason})") from None
        text = strip_byte_order_marks(text)  # a second one, left by an editor that added one again
        self._refuse_byte_order_mark(text)
        # Lines end at \n (or \r\n) only, as in GPUMD and every editor; str.splitlines
        # would also split at \f, \x1c, \u2028 ... and misnumber the lines.
        self.lines = text.split("\n")
        if "\r" in text:
            self.lines = [line.removesuffix("\r") for line in self.lines]
        if self.lines and self.lines[-1] == "":
            self.lines.pop()

    def _refuse_byte_order_mark(self, text: str) -> None:
        """A byte order mark after the file's start is invisible text GPUMD would take into a
        token; read back after a write it could open the file and vanish, so it is refused."""
        at = text.find("\ufeff")
        if at >= 0:
            line_start = text.rfind("\n", 0, at) + 1
            raise self.error(text.count("\n", 0, at) + 1,
                             f"a byte order mark (U+FEFF) at column {at - line_start + 1}; "
                             "only the start of a file may hold one")

    def error(self, line: int | None, message: str) -> ModelFileError:
        return ModelFileError(self.filename, message, line)

    def number(self, token: str, line: int, what: str, kind: Callable = float) -> Any:
        try:
            if not C_DECIMAL.fullmatch(token):
                raise ValueError(token)
            value = kind(token)
        except ValueError:
            raise self.error(line, f"{what}: expected {'an integer' if kind is int else 'a number'}, "
                                   f"got {token!r}{_blank_hint(token)}") from None
        if kind is float and not math.isfinite(value):
            raise self.error(line, f"{what}: value {token!r} is not finite")
        return value


def _blank_hint(token: str) -> str:
    """For an error about ``token``: the blank inside it that Python splits at and GPUMD does not."""
    at = other_blank(token)
    return "" if at is None else (f" (it holds {describe_character(token[at])}, a blank GPUMD "
                                  "does not split at)")


def _integer(lines: _Lines, token: str, line: int, what: str, minimum: int = 0) -> int:
    value = lines.number(token, line, what)
    if value != int(value) or value < minimum:
        raise lines.error(line, f"{what}: expected an integer >= {minimum}, got {token!r}")
    return int(value)


def _header_line(lines: _Lines, index: int, keyword: str, counts: tuple[int, ...]) -> list[str]:
    if index >= len(lines.lines):
        raise lines.error(index + 1, f"file ends before the '{keyword}' header line")
    tokens = split_blanks(lines.lines[index])
    if not tokens or tokens[0] != keyword:
        found = tokens[0] if tokens else "an empty line"
        raise lines.error(index + 1, f"expected the '{keyword}' header line, found {found!r}"
                                     f"{_blank_hint(found)}")
    if len(tokens) not in counts:
        expected = " or ".join(str(c) for c in counts)
        raise lines.error(index + 1, f"'{keyword}' line has {len(tokens)} fields, expected {expected}")
    return tokens


def parse_model(filename: str | os.PathLike) -> ModelFields:
    """The fields of a nep.txt (:func:`gpunep.model.read_model` makes the :class:`~gpunep.model.Model`).

    Raises
    ------
    OSError
        The file does not exist or cannot be read.
    ModelFileError
        (a ``ValueError``) naming the file, line and what was expected.
    """
    lines = _Lines(filename)
    return _parse_values(lines, _parse_header(lines))


def _parse_header(lines: _Lines) -> dict[str, Any]:
    """The header lines of nep.txt as Model fields, plus ``first_value_line``."""
    header, has_zbl = _parse_model_line(lines)
    index = 1
    if has_zbl:
        zbl = _header_line(lines, index, "zbl", (3, 4))
        r_in = lines.number(zbl[1], index + 1, "zbl inner cutoff")
        r_out = lines.number(zbl[2], index + 1, "zbl outer cutoff")
        header["zbl"] = (r_in, r_out)
        if len(zbl) == 4:
            header["zbl_typewise_cutoff_factor"] = lines.number(zbl[3], index + 1, "zbl typewise factor")
        index += 1
    _parse_cutoff_line(lines, index, header)
    index += 1
    n_max = _header_line(lines, index, "n_max", (3,))
    header["n_max_radial"] = _integer(lines, n_max[1], index + 1, "n_max radial")
    header["n_max_angular"] = _integer(lines, n_max[2], index + 1, "n_max angular")
    index += 1
    basis = _header_line(lines, index, "basis_size", (3,))
    header["n_basis_radial"] = _integer(lines, basis[1], index + 1, "basis_size radial")
    header["n_basis_angular"] = _integer(lines, basis[2], index + 1, "basis_size angular")
    index += 1
    l_max = _header_line(lines, index, "l_max", (2, 3, 4, 5, 6, 7, 8))
    flags = [_integer(lines, tok, index + 1, "l_max") for tok in l_max[1:]] + [0] * (8 - len(l_max))
    names = ("l_max_3b", "l_max_4b", "l_max_5b", "has_q_112", "has_q_123", "has_q_233", "has_q_134")
    header.update(zip(names, flags))
    if not 1 <= header["l_max_3b"] <= 8:
        raise lines.error(index + 1, f"l_max for 3-body terms must be 1..8, got {header['l_max_3b']}")
    index += 1
    ann = _header_line(lines, index, "ANN", (2, 3))
    header["n_neuron"] = _integer(lines, ann[1], index + 1, "ANN neurons", minimum=1)
    if len(ann) == 3 and _integer(lines, ann[2], index + 1, "ANN second layer") != 0:
        raise lines.error(index + 1, "two-hidden-layer models (ANN N1 N2 with N2 > 0) are training-only "
                                     "and not supported")
    header["first_value_line"] = index + 1
    return header


def _parse_model_line(lines: _Lines) -> tuple[dict[str, Any], bool]:
    """The first line (``nep4_zbl 2 Te Pb``): version, model type, species; and whether a zbl line follows."""
    if not lines.lines:
        raise lines.error(None, "the file is empty")
    tokens = split_blanks(lines.lines[0])
    if not tokens:
        raise lines.error(1, "expected 'nep<version>[_zbl][_suffix] <number of types> <symbols>'")
    match = _TOKEN.match(tokens[0])
    if match is None:
        raise lines.error(1, f"unknown model token {tokens[0]!r}; expected nep3, nep4 or nep5 "
                             "with optional _zbl and _temperature/_dipole/_polarizability/_charge1/_charge2")
    version, has_zbl, suffix = int(match.group(1)), bool(match.group(2)), match.group(3)
    if suffix in ("_vdw", "_charge_vdw"):
        raise lines.error(1, f"{tokens[0]} models are training-only in GPUMD (not runnable by gpumd) "
                             "and are not supported")
    if suffix not in _SUFFIX_TYPE:
        raise lines.error(1, f"{tokens[0]}: charge mode {suffix[7:]} is not supported "
                             "(GPUMD supports charge1 and charge2)")
    model_type = _SUFFIX_TYPE[suffix]
    if version == 5 and model_type in ("polarizability", "potential_with_charges"):
        # GPUMD defines no per-type NEP5 bias for the second (polarizability) network
        # or the charge head, so these files have no parameter layout.
        raise lines.error(1, f"{tokens[0]}: NEP5 exists only for potential, dipole and temperature "
                             "models (GPUMD has no nep5 polarizability or charge model)")
    if len(tokens) < 2:
        raise lines.error(1, "missing the number of types after the model token")
    n_types = _integer(lines, tokens[1], 1, "number of types", minimum=1)
    if len(tokens) != n_types + 2:
        raise lines.error(1, f"expected {n_types} element symbols after '{tokens[0]} {n_types}', "
                             f"found {len(tokens) - 2}")
    types = tuple(tokens[2:])
    for symbol in types:
        if symbol not in ELEMENTS:
            raise lines.error(1, f"{symbol!r} is not an element symbol GPUMD knows (H .. Pu)")
    if len(set(types)) != len(types):
        raise lines.error(1, f"element symbols repeat: {' '.join(types)}")
    header: dict[str, Any] = dict(version=version, model_type=model_type, types=types,
                                  charge_mode=int(suffix[7]) if model_type == "potential_with_charges" else None,
                                  zbl=None, zbl_typewise_cutoff_factor=None)
    return header, has_zbl


def _parse_cutoff_line(lines: _Lines, index: int, header: dict[str, Any]) -> None:
    """The cutoff line (uniform, per type, or with legacy typewise factors) and the max neighbor counts."""
    n_types = len(header["types"])
    n_typewise = 2 * n_types + 3
    counts = (5, 8, n_typewise) if n_types > 1 else (5, 8)
    cutoff = _header_line(lines, index, "cutoff", counts)
    line = index + 1
    values = [lines.number(tok, line, "cutoff") for tok in cutoff[1:]]
    header["radial_typewise_cutoff_factor"] = header["angular_typewise_cutoff_factor"] = None
    if len(cutoff) == n_typewise and n_types > 1:
        header["radial_cutoff"] = values[0:2 * n_types:2]
        header["angular_cutoff"] = values[1:2 * n_types:2]
        mn = cutoff[-2:]
    else:
        header["radial_cutoff"], header["angular_cutoff"] = values[0], values[1]
        mn = cutoff[3:5]
        if len(cutoff) == 8:
            # Legacy GPUMD typewise cutoff factors: radial, angular, ZBL. GPUMD switches
            # each on only when it is > 0; the trainer writes all three when either is on.
            radial_factor, angular_factor, zbl_factor = values[4:7]
            if radial_factor > 0:
                if angular_factor <= 0:
                    raise lines.error(line, f"typewise cutoff factors: radial {radial_factor:g} is on "
                                            f"but angular {angular_factor:g} is not > 0")
                header["radial_typewise_cutoff_factor"] = radial_factor
                header["angular_typewise_cutoff_factor"] = angular_factor
            if zbl_factor > 0:
                header["zbl_typewise_cutoff_factor"] = zbl_factor
    header["max_neighbors_radial"] = _integer(lines, mn[0], line, "max radial neighbors")
    header["max_neighbors_angular"] = _integer(lines, mn[1], line, "max angular neighbors")
    for rc_r, rc_a in zip(np.atleast_1d(header["radial_cutoff"]), np.atleast_1d(header["angular_cutoff"])):
        if not (0 < rc_a <= rc_r):
            raise lines.error(line, f"cutoffs must satisfy 0 < angular <= radial, got radial {rc_r:g}, "
                                    f"angular {rc_a:g}")


_NOT_DECIMAL = re.compile(r"[^0-9.eE+\- \t\n]")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def _number_rows(lines: _Lines, rows: list[str], first_line: int, names: tuple[str, ...],
                 expected: str) -> np.ndarray:
    """``len(names)`` numbers on each row, as a (rows, fields) array.

    Large files (NEP89: ~10^6 rows) take a vectorised path when every row is
    plainly decimal tokens; otherwise, or on any doubt, each row is checked on
    its own so that the error names the line (``first_line`` is the first row's).
    """
    width = len(names)
    text = "\n".join(rows)
    if not _NOT_DECIMAL.search(text):
        tokens = text.split()
        plain = len(tokens) == width * len(rows)
        if plain and width == 1:  # then no blank row means one token on every row
            plain = not _BLANK_LINE.search(f"\n{text}\n")
        elif plain:  # (splitting each row on its own is ten times slower)
            pattern = rf"^[ \t]*[^\s]+(?:[ \t]+[^\s]+){{{width - 1}}}[ \t]*$"
            plain = len(re.findall(pattern, text, re.MULTILINE)) == len(rows)
        if plain:
            try:
                table = np.array(tokens, dtype=np.float64).reshape(len(rows), width)
            except ValueError:
                pass  # e.g. "1e" or "1.2.3": the per-row check below names the line
            else:
                if np.all(np.isfinite(table)):
                    return table
    table = np.empty((len(rows), width))
    for offset, row in enumerate(rows):
        line = first_line + offset
        fields = split_blanks(row)
        if len(fields) != width:
            raise lines.error(line, f"expected {expected}, found {len(fields)} fields")
        table[offset] = [lines.number(token, line, name) for token, name in zip(fields, names)]
    return table


def _parse_values(lines: _Lines, header: dict[str, Any]) -> ModelFields:
    first_value_line = header.pop("first_value_line")
    model = ModelFields(**header, ann_parameters={}, q_scaler=np.zeros(0),
                  radial_descriptor_weights={}, angular_descriptor_weights={})
    n_ann, n_c, dim = model.n_ann_parameters, model.n_descriptor_parameters, model.n_descriptor
    n_zbl = 10 * len(model.types) * (len(model.types) + 1) // 2 if model.zbl == (0.0, 0.0) else 0
    expected = n_ann + n_c + dim + n_zbl
    body = lines.lines[first_value_line:]
    while body and not body[-1].strip():
        body.pop()
    values = _number_rows(lines, body, first_value_line + 1, ("parameter value",),
                          "one number per line")[:, 0]
    architecture = (f"{len(model.types)} types, dim {dim}, {model.n_neuron} neurons: "
                    f"{n_ann} ANN + {n_c} descriptor + {dim} q_scaler"
                    + (f" + {n_zbl} flexible ZBL" if n_zbl else "") + " values")
    if len(values) < expected:
        raise lines.error(first_value_line + len(values) + 1,
                          f"file is truncated: expected {expected} values ({architecture}), "
                          f"found {len(values)}")
    if len(values) > expected:
        raise lines.error(first_value_line + expected + 1,
                          f"extra values: expected {expected} ({architecture}), found {len(values)}")
    spec = dict(types=model.types, version=model.version, model_type=model.model_type,
                n_neuron=model.n_neuron, dim=dim)
    model.ann_parameters = layout.unflatten_ann(values[:n_ann], **spec)
    if model.model_type == "potential_with_charges":
        model.sqrt_epsilon_infinity = model.ann_parameters.pop("sqrt_epsilon_infinity")
    n_cr = len(model.types) ** 2 * (model.n_max_radial + 1) * (model.n_basis_radial + 1)
    model.radial_descriptor_weights = layout.unflatten_descriptor(
        values[n_ann:n_ann + n_cr], model.types, model.n_max_radial, model.n_basis_radial)
    model.angular_descriptor_weights = layout.unflatten_descriptor(
        values[n_ann + n_cr:n_ann + n_c], model.types, model.n_max_angular, model.n_basis_angular)
    model.q_scaler = np.array(values[n_ann + n_c:n_ann + n_c + dim])
    if n_zbl:
        table = values[n_ann + n_c + dim:].reshape(-1, 10)
        model.zbl_parameters = {pair: row.copy() for pair, row in zip(layout.zbl_pairs(model.types), table)}
    return model


# ------------------------------------------------------------------ writing
def atomic_write(filename: str | os.PathLike, text: str) -> None:
    """Write ``text`` to a temporary file beside ``filename``, then rename it into place.

    The new file gets the mode of the file it replaces, or else what the umask
    gives an ordinary ``open()`` (mkstemp's 0600 would make every model private).
    """
    path = Path(filename)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with open(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        if path.exists():
            os.chmod(temp, stat.S_IMODE(path.stat().st_mode))
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _ann_vector(model: ModelFields, tree: dict[str, Any]) -> np.ndarray:
    tree = dict(tree)
    if model.model_type == "potential_with_charges" and "sqrt_epsilon_infinity" not in tree:
        tree["sqrt_epsilon_infinity"] = model.sqrt_epsilon_infinity
    return layout.flatten_ann(tree, types=model.types, version=model.version,
                              model_type=model.model_type, n_neuron=model.n_neuron,
                              dim=model.n_descriptor)


def parameter_vector(model: ModelFields) -> np.ndarray:
    """All values of nep.txt after the header, in file order."""
    parts = [
        _ann_vector(model, model.ann_parameters),
        layout.flatten_descriptor(model.radial_descriptor_weights, model.types,
                                  model.n_max_radial, model.n_basis_radial, "radial_descriptor_weights"),
        layout.flatten_descriptor(model.angular_descriptor_weights, model.types,
                                  model.n_max_angular, model.n_basis_angular, "angular_descriptor_weights"),
    ]
    q_scaler = np.asarray(model.q_scaler, dtype=np.float64).reshape(-1)
    if q_scaler.shape != (model.n_descriptor,):
        raise ValueError(f"q_scaler has {q_scaler.size} values, expected {model.n_descriptor}")
    parts.append(q_scaler)
    if model.zbl == (0.0, 0.0):
        if model.zbl_parameters is None:
            raise ValueError("flexible ZBL ('zbl 0 0') needs zbl_parameters for every type pair")
        for pair in layout.zbl_pairs(model.types):
            row = np.asarray(layout.lookup(model.zbl_parameters, pair, "zbl_parameters"), dtype=np.float64)
            if row.shape != (10,):
                raise ValueError(f"zbl_parameters[{pair}] must hold 10 values, got shape {row.shape}")
            parts.append(row)
    vector = np.concatenate(parts)
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"the model holds a non-finite parameter at value index "
                         f"{int(np.argwhere(~np.isfinite(vector))[0, 0])}")
    return vector


def _header_number(value: float) -> str:
    """GPUMD's short ``%g`` form ("8", "4.2") where it is exact, else every digit.

    Plain ``%g`` keeps 6 significant digits and would silently change an
    edited cutoff such as 5.1234567.
    """
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def _format_header(model: ModelFields) -> str:
    num = _header_number
    token = f"nep{model.version}" + ("_zbl" if model.zbl is not None else "")
    token += {"potential": "", "temperature": "_temperature", "dipole": "_dipole",
              "polarizability": "_polarizability"}.get(model.model_type, f"_charge{model.charge_mode}")
    lines = [f"{token} {len(model.types)} {' '.join(model.types)} "]
    if model.zbl is not None:
        zbl = f"zbl {num(model.zbl[0])} {num(model.zbl[1])}"
        if model.zbl_typewise_cutoff_factor is not None and model.radial_typewise_cutoff_factor is None:
            zbl += f" {num(model.zbl_typewise_cutoff_factor)}"
        lines.append(zbl)
    if isinstance(model.radial_cutoff, list):
        cutoffs = " ".join(f"{num(r)} {num(a)}" for r, a in zip(model.radial_cutoff, model.angular_cutoff))
    else:
        cutoffs = f"{num(model.radial_cutoff)} {num(model.angular_cutoff)}"
    cutoff = f"cutoff {cutoffs} {model.max_neighbors_radial} {model.max_neighbors_angular}"
    if model.radial_typewise_cutoff_factor is not None:
        cutoff += (f" {num(model.radial_typewise_cutoff_factor)} {num(model.angular_typewise_cutoff_factor)}"
                   f" {num(model.zbl_typewise_cutoff_factor or 0.0)}")
    lines.append(cutoff)
    lines.append(f"n_max {model.n_max_radial} {model.n_max_angular}")
    lines.append(f"basis_size {model.n_basis_radial} {model.n_basis_angular}")
    lines.append("l_max " + " ".join(str(v) for v in _l_max_fields(model)))
    lines.append(f"ANN {model.n_neuron} 0")
    return "\n".join(lines) + "\n"


def write_model(model: ModelFields, filename: str | os.PathLike) -> None:
    """Write ``model`` as nep.txt (see :meth:`gpunep.model.Model.write`)."""
    values = parameter_vector(model)
    # Python floats format several times faster than numpy scalars.
    text = _format_header(model) + "".join(f"{v:15.7e}\n" for v in values.tolist())
    atomic_write(filename, text)


# ------------------------------------------------------------------ restart
def _fitted_vectors(model: ModelFields, restart: dict[str, Any], which: str) -> np.ndarray:
    return np.concatenate([
        _ann_vector(model, restart[f"ann_{which}"]),
        layout.flatten_descriptor(restart[f"radial_descriptor_{which}"], model.types,
                                  model.n_max_radial, model.n_basis_radial, f"radial_descriptor_{which}"),
        layout.flatten_descriptor(restart[f"angular_descriptor_{which}"], model.types,
                                  model.n_max_angular, model.n_basis_angular, f"angular_descriptor_{which}"),
    ])


def restart_from_vectors(model: ModelFields, mu: np.ndarray, sigma: np.ndarray) -> dict[str, Any]:
    """Build ``restart_parameters`` trees from flat ``mu``/``sigma`` vectors in file order."""
    n_ann = model.n_ann_parameters
    n_cr = len(model.types) ** 2 * (model.n_max_radial + 1) * (model.n_basis_radial + 1)
    spec = dict(types=model.types, version=model.version, model_type=model.model_type,
                n_neuron=model.n_neuron, dim=model.n_descriptor)
    restart: dict[str, Any] = {}
    for which, vector in (("mu", mu), ("sigma", sigma)):
        restart[f"ann_{which}"] = layout.unflatten_ann(vector[:n_ann], **spec)
        restart[f"radial_descriptor_{which}"] = layout.unflatten_descriptor(
            vector[n_ann:n_ann + n_cr], model.types, model.n_max_radial, model.n_basis_radial)
        restart[f"angular_descriptor_{which}"] = layout.unflatten_descriptor(
            vector[n_ann + n_cr:], model.types, model.n_max_angular, model.n_basis_angular)
    return restart


def restart_vectors(model: ModelFields) -> tuple[np.ndarray, np.ndarray]:
    """The flat ``mu`` and ``sigma`` vectors of ``model.restart_parameters``, file order."""
    if model.restart_parameters is None:
        raise ValueError("the model has no restart parameters (load nep.restart with read_restart "
                         "or create them with gpunep.model.make_restart)")
    return (_fitted_vectors(model, model.restart_parameters, "mu"),
            _fitted_vectors(model, model.restart_parameters, "sigma"))


def read_restart(model: ModelFields, filename: str | os.PathLike) -> dict[str, Any]:
    """Parse nep.restart for ``model``'s architecture (``mu sigma`` rows)."""
    lines = _Lines(filename)
    rows = list(lines.lines)
    while rows and not rows[-1].strip():
        rows.pop()
    expected = model.n_ann_parameters + model.n_descriptor_parameters
    if len(rows) != expected:
        raise lines.error(None, f"has {len(rows)} rows, but this model ({len(model.types)} types, "
                                f"dim {model.n_descriptor}, {model.n_neuron} neurons) has {expected} "
                                "fitted parameters: the restart belongs to another architecture")
    table = _number_rows(lines, rows, 1, ("mu", "sigma"), "two numbers 'mu sigma'")
    return restart_from_vectors(model, table[:, 0], table[:, 1])


def write_restart(model: ModelFields, filename: str | os.PathLike) -> None:
    """Write ``model.restart_parameters`` as nep.restart (``%15.7e %15.7e`` rows)."""
    mu, sigma = restart_vectors(model)
    for name, vector in (("mu", mu), ("sigma", sigma)):
        if not np.all(np.isfinite(vector)):
            raise ValueError(f"the restart holds a non-finite {name} at row "
                             f"{int(np.argwhere(~np.isfinite(vector))[0, 0]) + 1}")
    atomic_write(filename, "".join(f"{m:15.7e} {s:15.7e}\n"
                                   for m, s in zip(mu.tolist(), sigma.tolist())))


# ------------------------------------------------------------------ nep.in
def _nepfile_value(token: str) -> int | float | str:
    """An integer, else a real, else a word: numbers in C's forms only (``1_000`` and ``１２``
    stay words, as for GPUMD, which refuses them where it wants a number)."""
    if C_INTEGER.fullmatch(token):
        return int(token)
    if C_REAL.fullmatch(token):
        return float(token)
    return token


def read_nepfile(filename: str | os.PathLike) -> dict[str, Any]:
    """Read nep.in into ``{keyword: value}``; values with several fields become lists.

    ``#`` starts a comment. A keyword given twice is an error naming both lines.
    Tokens are split at C's blanks only, and each value is an integer, else a
    real, else a word, numbers read in C's forms
    (docs/file-formats.md#text-as-gpumd-reads-it).
    """
    lines = _Lines(filename)
    params: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for number, text in enumerate(lines.lines, start=1):
        tokens = split_blanks(text.split("#", 1)[0])
        if not tokens:
            continue
        keyword = tokens[0]
        if keyword in seen:
            raise lines.error(number, f"keyword {keyword!r} repeats (first on line {seen[keyword]})")
        if len(tokens) == 1:
            raise lines.error(number, f"keyword {keyword!r} has no value{_blank_hint(keyword)}")
        seen[keyword] = number
        values = [_nepfile_value(tok) for tok in tokens[1:]]
        params[keyword] = values[0] if len(values) == 1 else values
    return params


def write_nepfile(parameters: dict[str, Any], directory: str | os.PathLike) -> None:
    """Write ``parameters`` as ``directory/nep.in``, one ``keyword  values`` line each."""
    lines = []
    for keyword, value in parameters.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        lines.append(f"{keyword}  {' '.join(str(v) for v in values)}\n")
    atomic_write(Path(directory) / "nep.in", "".join(lines))
