"""Parse the ``extern "C" __global__`` kernel signatures of a CUDA source.

Both executors need the parameter list of every kernel: the host executor to
generate its launchers and marshal arguments through ctypes, both to check
arguments the way CuPy passes them (see :mod:`gpunep.executors.arguments`).

Kernel parameters are restricted (the contract in ``kernels/``): scalars
``int``, ``float``, ``double``, ``real``, ``unsigned long long``, and single
pointers (const or not) to those types. Anything else is refused at parse time
with the file and kernel named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpunep.errors import KernelCompileError

# C type spelling -> canonical base type
_BASE_TYPES = {
    "int": "int",
    "float": "float",
    "double": "double",
    "real": "real",
    "NEP_REAL": "real",
    "unsigned long long": "unsigned long long",
    "unsigned long long int": "unsigned long long",
}
_QUALIFIERS = {"const", "__restrict__", "__restrict", "restrict", "volatile"}

_KERNEL = re.compile(
    r'extern\s+"C"\s+__global__\s+void\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?'
    r"(?P<name>[A-Za-z_]\w*)\s*\((?P<params>[^)]*)\)",
    re.S,
)


@dataclass(frozen=True)
class Param:
    """One kernel parameter.

    Attributes
    ----------
    name : the parameter's name in the source
    base : canonical base type: 'int', 'float', 'double', 'real' or 'unsigned long long'
    pointer : True for ``T*`` parameters
    const : True when the pointee is const (the kernel only reads it)
    """

    name: str
    base: str
    pointer: bool
    const: bool

    @property
    def ctype(self) -> str:
        """The parameter's type as C spells it (for messages)."""
        return f"{'const ' if self.const else ''}{self.base}{'*' if self.pointer else ''}"


@dataclass(frozen=True)
class KernelSignature:
    """The name and parameters of one ``extern "C" __global__`` kernel."""

    name: str
    params: tuple[Param, ...]
    source: str = ""


def strip_comments(text: str) -> str:
    """Remove ``//`` and ``/* */`` comments, keeping line breaks and string literals."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            end = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


_PARAMETER_MACRO = re.compile(r"^#define\s+(NEP_\w+_PARAMS)\s+((?:.*\\\n)*.*)$", re.M)


def parameter_macros(text: str) -> dict[str, str]:
    """``#define NEP_<GROUP>_PARAMS ...`` definitions of a source text: parameter lists
    that several kernels share (written once in a header, expanded when parsing)."""
    return {name: body.replace("\\\n", " ") for name, body in
            _PARAMETER_MACRO.findall(strip_comments(text))}


def parse_signatures(text: str, source: str = "<string>",
                     macros: dict[str, str] | None = None) -> list[KernelSignature]:
    """All ``extern "C" __global__ void`` kernels of a source text, in order.

    Parameters
    ----------
    text : CUDA C++ source
    source : file name used in error messages
    macros : parameter-list macros the kernels may use (:func:`parameter_macros`)

    Raises
    ------
    KernelCompileError
        A parameter type outside the allowed set, or an unnamed parameter.
    """
    text = strip_comments(text)
    kernels = []
    for match in _KERNEL.finditer(text):
        name = match.group("name")
        params_text = match.group("params").strip()
        for macro, body in (macros or {}).items():
            params_text = re.sub(rf"\b{macro}\b", body, params_text)
        params = []
        if params_text and params_text != "void":
            for position, raw in enumerate(params_text.split(",")):
                params.append(_parse_param(raw, source, name, position))
        kernels.append(KernelSignature(name=name, params=tuple(params), source=source))
    return kernels


def _parse_param(raw: str, source: str, kernel: str, position: int) -> Param:
    declaration = " ".join(raw.split())
    where = f"{source}: kernel {kernel}, parameter {position} '{declaration}'"
    stars = declaration.count("*")
    if stars > 1:
        raise KernelCompileError(f"{where}: pointers to pointers are not allowed")
    if stars:
        # "const double* __restrict__ name": type before the star, name after it
        type_part, name_part = declaration.split("*")
        names = [t for t in _identifiers(name_part) if t not in _QUALIFIERS]
        type_tokens = _identifiers(type_part)
    else:
        tokens = _identifiers(declaration)
        names, type_tokens = tokens[-1:], tokens[:-1]
    const = "const" in type_tokens
    if len(names) != 1 or (not stars and not type_tokens):
        raise KernelCompileError(f"{where}: every parameter needs a type and a name")
    spelled = " ".join(t for t in type_tokens if t not in _QUALIFIERS)
    base = _BASE_TYPES.get(spelled)
    if base is None:
        allowed = "int, float, double, real, unsigned long long (or pointers to them)"
        raise KernelCompileError(f"{where}: type '{spelled}' is not allowed; use {allowed}")
    return Param(name=names[0], base=base, pointer=bool(stars), const=bool(stars) and const)


def _identifiers(text: str) -> list[str]:
    return re.findall(r"[A-Za-z_]\w*", text)
