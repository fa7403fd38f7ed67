"""Fuzzing gpunep's file readers: nep.txt, nep.restart, nep.in and extended XYZ.

Small valid files (written by gpunep's own writers, or generated here) are
mutated with a seeded generator: truncations, token swaps, garbage bytes,
numeric edge cases (huge, tiny, NaN, inf, integer overflow, other spellings
of the same number, a changed digit), line duplication and deletion, non-UTF-8
bytes, byte order marks, CRLF and unusual blanks. Each mutated file is read
and one of these outcomes is counted:

``refused``
    the reader raised the error it documents (``ModelFileError`` for the
    model, restart and nep.in readers; ``ValueError`` for extxyz), naming
    the file;
``exact``
    the file was accepted and holds exactly the numbers an independent
    reading of the text finds (tests/model/fuzz_checks.py for nep.txt and
    nep.restart, benchmarks/fuzz_oracles.py for nep.in and extxyz), and it
    writes back the same numbers (model, restart, nep.in);
``unchecked``
    accepted, but the text is outside what the independent reader follows;
``CRASH``
    any other exception, or the documented one without the file's name;
``WRONG``
    accepted with numbers that differ from the independent reading;
``LENIENT``
    accepted, though a numeric field holds something GPUMD does not read as
    a number (e.g. ``1_000``, non-ASCII digits, ``T``).

CRASH, WRONG and LENIENT cases are printed with the mutations and the bytes
that produced them (``--keep DIR`` also saves each input file).
tests/test_fuzz_readers.py runs a few hundred cases of the same function.

    python benchmarks/fuzz_readers.py [--cases 10000] [--seed 0] [--readers model,restart,nepin,extxyz]
                                      [--keep DIR]
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import tempfile
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests"), str(HERE.parent / "tests" / "model")]

import fuzz_oracles as oracles  # noqa: E402  (benchmarks/, next to this script)
from fuzz_checks import (BASES, RESTART_BASE, base_text, check_model_exact,  # noqa: E402
                         check_restart_exact, restart_text)

READERS = ("model", "restart", "nepin", "extxyz")
FINDINGS = ("CRASH", "WRONG", "LENIENT")
BOM = b"\xef\xbb\xbf"
EDGE_TOKENS = ["0", "-0", "+1", "1e308", "1e309", "-1e400", "1e-400", "4.9e-324", "3.5e38",
               "1.7976931348623157e308", "2147483648", "-2147483649", "9223372036854775808",
               "99999999999999999999", "1" * 400, "nan", "NaN", "-nan", "inf", "-inf", "Infinity",
               "1_000", "0x10", "1e", ".", "-", "+-1", "1.2.3", "e5", "1e5.5", "١٢", "１２", "T", "F",
               "True", "", "\"", "'", "=", "#", "\\", "Lattice=", "energy=1", "pbc=\"T T F\""]
GARBAGE_BYTES = [b"\x00", b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xe9", b"\x80", BOM, b"\r", b"\x0b",
                 b"\x0c", b"\x1c", "\u00a0".encode(), "\u2028".encode(), b"\t", b"  "]


@dataclass
class Case:
    """One mutated file: its reader, the mutations made and the bytes."""

    reader: str
    index: int
    mutations: list[str]
    data: bytes


@dataclass
class Report:
    """Outcome counts per reader and the cases worth a look."""

    counts: Counter = field(default_factory=Counter)
    findings: list[tuple[str, Case, str]] = field(default_factory=list)

    def add(self, outcome: str, case: Case, detail: str = "") -> None:
        self.counts[(case.reader, outcome)] += 1
        if outcome in FINDINGS:
            self.findings.append((outcome, case, detail))

    def table(self) -> str:
        outcomes = ("refused", "exact", "unchecked", *FINDINGS)
        lines = [f"{'reader':<10}" + "".join(f"{o:>11}" for o in outcomes) + f"{'total':>9}"]
        for reader in sorted({r for r, _ in self.counts}):
            row = [self.counts[(reader, o)] for o in outcomes]
            lines.append(f"{reader:<10}" + "".join(f"{n:>11}" for n in row) + f"{sum(row):>9}")
        return "\n".join(lines)


# ------------------------------------------------------------------ base files
def _extxyz_base(seed: int) -> str:
    """Three frames in GPUMD's and ASE's spellings: forces, virial (9 and 6), stress, no energy."""
    rng = np.random.default_rng(seed)

    def numbers(n: int, scale: float) -> str:
        return " ".join(repr(float(v)) for v in rng.normal(scale=scale, size=n))

    def atoms(n: int, with_forces: bool) -> str:
        return "".join(f"{rng.choice(['Te', 'Pb'])} {numbers(3, 3.0)}"
                       + (f" {numbers(3, 0.5)}" if with_forces else "") + "\n" for _ in range(n))

    def symmetric_nine() -> str:  # virials and stresses are symmetric tensors
        matrix = rng.normal(size=(3, 3))
        return " ".join(repr(float(v)) for v in (matrix + matrix.T).reshape(-1))

    lattice = "6.5 0.0 0.0 0.0 6.5 0.0 0.0 0.0 6.5"
    stress = " ".join(repr(float(v)) for v in rng.normal(size=6))
    return (f'4\nLattice="{lattice}" Properties=species:S:1:pos:R:3:force:R:3 energy={numbers(1, 10)} '
            f'virial="{symmetric_nine()}" config_type=a pbc="T T T"\n{atoms(4, True)}'
            f'3\nenergy={numbers(1, 10)} Lattice="{numbers(9, 4)}" stress="{stress}" '
            f'Properties=species:S:1:pos:R:3:forces:R:3 pbc="T T F"\n{atoms(3, True)}'
            f'2\nLattice="{lattice}" virial="{numbers(6, 1)}" Properties=species:S:1:pos:R:3\n'
            f'{atoms(2, False)}')


NEPIN_BASE = ("type         2 Te Pb   # species\nversion      4\ncutoff       8 4\nn_max        4 4\n"
              "basis_size   8 8\nl_max        4 2 0\nneuron       30\nlambda_1     0\nlambda_e     1.0\n"
              "lambda_v     0.1\nbatch        1000\npopulation   50\ngeneration   20000\nzbl 2.0\n")


def base_files(folder: Path) -> dict[str, list[bytes]]:
    """Every reader's valid starting files."""
    return {"model": [base_text(name, folder).encode() for name in sorted(BASES)],
            "restart": [restart_text().encode()],
            "nepin": [NEPIN_BASE.encode()],
            "extxyz": [_extxyz_base(seed).encode() for seed in range(3)]}


# ------------------------------------------------------------------ mutations
def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _token_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], None
    for i, char in enumerate(text + " "):
        if char.isspace() or char in '"=:':
            if start is not None:
                spans.append((start, i))
                start = None
        elif start is None:
            start = i
    return spans


def _replace_token(text: str, rng, make: Callable[[str], str], head: bool = False) -> str:
    """``text`` with one token replaced by ``make(token)``; ``head``: a token of the first
    8 lines (headers, comment lines), where one token changes the meaning of many."""
    spans = _token_spans(text)
    if head:
        end = [i for i, c in enumerate(text) if c == "\n"][7:8]
        spans = [span for span in spans if not end or span[1] <= end[0]]
    if not spans:
        return text
    start, end = spans[rng.integers(len(spans))]
    return text[:start] + make(text[start:end]) + text[end:]


def _respell(token: str, rng) -> str:
    """The same number written another way (what a reader must read as the same value)."""
    try:
        value = float(token)
    except ValueError:
        return token
    forms = [f"{value:.17e}", f"{value:.17E}", f"+{token}" if not token.startswith(("-", "+")) else token,
             f"{token}0" if "." in token and "e" not in token.lower() else token, repr(value)]
    return forms[rng.integers(len(forms))]


def _change_digit(token: str, rng) -> str:
    digits = [i for i, c in enumerate(token) if c.isdigit()]
    if not digits:
        return token
    i = digits[rng.integers(len(digits))]
    return token[:i] + str((int(token[i]) + 1 + rng.integers(9)) % 10) + token[i + 1:]


def _line_edit(data: bytes, rng, kind: str) -> bytes:
    lines = data.split(b"\n")
    i = int(rng.integers(len(lines)))
    if kind == "delete line":
        del lines[i]
    elif kind == "duplicate line":
        lines.insert(int(rng.integers(len(lines) + 1)), lines[i])
    elif kind == "CRLF":
        lines = [line + b"\r" for line in lines[:-1]] + lines[-1:]
    else:  # garbage line
        lines.insert(i, " ".join(EDGE_TOKENS[j] for j in rng.integers(len(EDGE_TOKENS), size=3)).encode())
    return b"\n".join(lines)


def mutate(data: bytes, rng) -> tuple[bytes, str]:
    """One random mutation of ``data``: (new bytes, what was done)."""
    kind = ["truncate", "swap tokens", "edge token", "edge token in the head", "respell number",
            "edge key value", "change digit", "garbage bytes", "delete line", "duplicate line",
            "garbage line", "CRLF", "leading BOM", "empty"][rng.integers(14)]
    text = _text(data)
    if kind == "truncate":
        return data[:int(rng.integers(len(data) + 1))], kind
    if kind == "swap tokens":
        spans = _token_spans(text)
        if len(spans) < 2:
            return data, kind
        (a, b), (c, d) = sorted(spans[i] for i in rng.choice(len(spans), 2, replace=False))
        return _bytes(text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]), kind
    if kind.startswith("edge token"):
        token = EDGE_TOKENS[rng.integers(len(EDGE_TOKENS))]
        return _bytes(_replace_token(text, rng, lambda _: token, head=kind.endswith("head"))), \
            f"{kind} {token[:20]!r}"
    if kind == "edge key value":  # extxyz comment lines: energy=..., virial="...", pbc=...
        pairs = list(re.finditer(r'\b\w+=("[^"\n]*"|[^\s"]+)', text))
        if not pairs:
            return data, kind
        value, token = pairs[rng.integers(len(pairs))].span(1), EDGE_TOKENS[rng.integers(len(EDGE_TOKENS))]
        return _bytes(text[:value[0]] + token + text[value[1]:]), f"{kind} {token[:20]!r}"
    if kind == "respell number":
        return _bytes(_replace_token(text, rng, lambda t: _respell(t, rng))), kind
    if kind == "change digit":
        return _bytes(_replace_token(text, rng, lambda t: _change_digit(t, rng))), kind
    if kind == "garbage bytes":
        garbage = GARBAGE_BYTES[rng.integers(len(GARBAGE_BYTES))] if rng.random() < 0.7 else bytes(
            rng.integers(0, 256, size=int(rng.integers(1, 6)), dtype=np.uint8))
        at = int(rng.integers(len(data) + 1))
        return data[:at] + garbage + data[at:], f"{kind} {garbage!r} at {at}"
    if kind == "leading BOM":
        return BOM + data, kind
    if kind == "empty":
        return b"", kind
    return _line_edit(data, rng, kind), kind


def mutated_case(reader: str, index: int, bases: list[bytes], rng) -> Case:
    data = bases[rng.integers(len(bases))]
    mutations = []
    for _ in range(int(rng.integers(1, 4))):
        data, what = mutate(data, rng)
        mutations.append(what)
    return Case(reader, index, mutations, data)


# ------------------------------------------------------------------ reading and checking
Outcome = tuple[str, str]


def _decoded(data: bytes) -> str | None:
    """The text every reader should see (UTF-8, the byte order marks opening it dropped), or None."""
    if BOM.startswith(data):
        return ""  # Python's utf-8-sig stream decoder drops a file that is only part of a BOM
    try:
        return data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        return None


def _refused(error: Exception, path: Path, data: bytes) -> Outcome:
    """A documented error: it must name the file, and a line of the file (or the one after
    its end, where a truncated file's next values were due) if it names one."""
    message = str(error)
    if str(path) not in message:
        return "CRASH", f"{type(error).__name__} without the file name: {message[:300]}"
    line, n_lines = getattr(error, "line", None), data.count(b"\n") + 1
    if line is not None and not 1 <= line <= n_lines + 1:
        return "CRASH", f"line {line} outside the file ({n_lines} lines): {message[:300]}"
    return "refused", ""


def _check(check: Callable[[], Outcome]) -> Outcome:
    """Run an independent check; a failed assertion or an unreadable text is WRONG."""
    try:
        return check()
    except AssertionError as error:
        return "WRONG", f"numbers differ from the independent reading: {str(error)[:400]}"
    except (ValueError, IndexError) as error:
        return "WRONG", f"accepted, but the independent reading fails: {type(error).__name__}: {error}"


def _accepted(data: bytes, check_exact: Callable[[str], None]) -> Outcome:
    """The outcome of a file a reader accepted: its text must be UTF-8 and ``check_exact``
    (the independent reading of that text) must pass."""
    text = _decoded(data)
    if text is None:
        return "WRONG", "accepted a file that is not UTF-8"
    return _check(lambda: (check_exact(text), ("exact", ""))[1])


def read_model_case(path: Path, data: bytes, folder: Path) -> Outcome:
    from gpunep.errors import ModelFileError
    from gpunep.model import read_model

    try:
        model = read_model(path)
    except ModelFileError as error:
        return _refused(error, path, data)
    return _accepted(data, lambda text: check_model_exact(model, text, folder / "out.txt"))


def read_restart_case(path: Path, data: bytes, folder: Path) -> Outcome:
    from gpunep.errors import ModelFileError

    model = RESTART_BASE.copy()
    try:
        model.read_restart(path)
    except ModelFileError as error:
        if model.restart_parameters is not None:
            return "CRASH", "refused, but the model kept part of the restart"
        return _refused(error, path, data)
    return _accepted(data, lambda text: check_restart_exact(model, text, folder))


def read_nepin_case(path: Path, data: bytes, folder: Path) -> Outcome:
    from gpunep.errors import ModelFileError
    from gpunep.model import read_nepfile, write_nepfile

    try:
        params = read_nepfile(path)
    except ModelFileError as error:
        return _refused(error, path, data)
    text = _decoded(data)
    expected = oracles.OUTSIDE if text is None else oracles.nepfile(text)
    if text is None:
        return "WRONG", "accepted a file that is not UTF-8"
    if expected is oracles.OUTSIDE:
        return "unchecked", ""
    if list(params) != list(expected):
        return "WRONG", f"keywords {list(params)} but the file has {list(expected)}"
    for key, value in params.items():
        if not oracles.same(value, expected[key]):
            words = [expected[key]] if not isinstance(expected[key], list) else expected[key]
            outcome = "LENIENT" if any(isinstance(w, str) for w in words) else "WRONG"
            return outcome, f"{key}: read {value!r}, the file holds {expected[key]!r}"
    (folder / "written").mkdir(exist_ok=True)
    write_nepfile(params, folder / "written")
    again = read_nepfile(folder / "written" / "nep.in")
    if not all(oracles.same(again.get(k), v) for k, v in params.items()) or len(again) != len(params):
        return "WRONG", f"written and read back: {again!r} != {params!r}"
    return "exact", ""


def _frames_differ(labelled: list, references: list, expected: list) -> str:
    """'' when every frame holds the expected numbers, else what differs."""
    if len(labelled) != len(expected):
        return f"{len(labelled)} frames read, the file has {len(expected)}"
    for k, ((_, atoms), ref, frame) in enumerate(zip(labelled, references, expected)):
        pairs = {"symbols": (atoms.get_chemical_symbols(), frame.symbols),
                 "positions": (atoms.positions, frame.positions), "cell": (atoms.cell[:], frame.cell),
                 "pbc": (list(atoms.pbc), frame.pbc), "energy": (ref.energy, frame.energy),
                 "forces": (ref.forces, frame.forces), "virial": (ref.virial, frame.virial)}
        for name, (mine, theirs) in pairs.items():
            if name in ("symbols", "pbc"):
                equal = list(mine) == list(theirs)
            else:
                equal = np.array_equal(np.asarray(mine, float), np.asarray(theirs, float), equal_nan=True)
            if not equal and name == "virial" and np.array_equal(mine, np.transpose(theirs), equal_nan=True):
                return f"frame {k} virial read transposed (column-major): read {mine.tolist()}"
            if not equal:
                return f"frame {k} {name}: read {mine!r}, the file holds {theirs!r}"
    return ""


def read_extxyz_case(path: Path, data: bytes, folder: Path) -> Outcome:
    from gpunep.io.extxyz import iter_labelled, reference_of

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            labelled = list(iter_labelled(path))
            references = [reference_of(atoms, where) for where, atoms in labelled]
    except ValueError as error:
        return _refused(error, path, data)
    text = _decoded(data)
    if text is None:
        return "WRONG", "accepted a file that is not UTF-8"
    for k, ref in enumerate(references):
        if not (np.isnan(ref.virial).all() or np.isfinite(ref.virial).all()):
            return "WRONG", f"frame {k}: a non-finite virial accepted: {ref.virial.tolist()}"
    try:
        expected = oracles.extxyz(text)
    except oracles.WordAsNumber as error:
        return "WRONG", f"a word read as a number: {error}"
    except oracles.NotANumber as error:
        return "LENIENT", f"GPUMD refuses: {error}"
    if expected is oracles.OUTSIDE:
        return "unchecked", ""
    difference = _frames_differ(labelled, references, expected)
    return ("WRONG", difference) if difference else ("exact", "")


CHECKS: dict[str, tuple[str, Callable[[Path, bytes, Path], Outcome]]] = {
    "model": ("nep.txt", read_model_case), "restart": ("nep.restart", read_restart_case),
    "nepin": ("nep.in", read_nepin_case), "extxyz": ("train.xyz", read_extxyz_case)}


class CaseTimeout(Exception):
    """A case ran past :data:`CASE_SECONDS` (a reader looping on a huge count, say)."""


CASE_SECONDS = 3.0
"""Time limit of one case: every file here is a few kB, read in milliseconds. The limit
also bounds what a runaway reader allocates before it is stopped."""


def _timeout(signum, frame) -> None:
    raise CaseTimeout(f"still reading after {CASE_SECONDS:g} s")


def run_case(case: Case, folder: Path) -> Outcome:
    """Write the case's bytes and read them; any exception the checks let through is a CRASH."""
    name, check = CHECKS[case.reader]
    path = folder / "case" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(case.data)
    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    try:
        return check(path, case.data, folder)
    except Exception as error:  # the point of fuzzing: anything undocumented is reported
        frames = traceback.extract_tb(error.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        return "CRASH", f"{type(error).__name__}: {str(error)[:300]} (at {where})"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ------------------------------------------------------------------ driver
def case_rng(seed: int, reader: str, index: int):
    """Each case's own generator: any one case can be rerun alone."""
    return np.random.default_rng([seed, READERS.index(reader), index])


def fuzz(n_cases: int, seed: int = 0, readers: tuple[str, ...] = READERS,
         keep: Path | None = None, only: int | None = None) -> Report:
    """Run ``n_cases`` mutated files through each reader (or only case ``only``).

    Returns
    -------
    Report
        Outcome counts per reader and every CRASH, WRONG and LENIENT case.
    """
    report = Report()
    with tempfile.TemporaryDirectory(prefix="gpunep-fuzz-") as tmp:
        folder = Path(tmp)
        bases = base_files(folder)
        for reader in readers:
            for index in ([only] if only is not None else range(n_cases)):
                case = mutated_case(reader, index, bases[reader], case_rng(seed, reader, index))
                outcome, detail = run_case(case, folder)
                report.add(outcome, case, detail)
                if keep is not None and (outcome in FINDINGS or only is not None):
                    keep.mkdir(parents=True, exist_ok=True)
                    (keep / f"{reader}-{index}-{outcome}-{CHECKS[reader][0]}").write_bytes(case.data)
    return report


_PYTHON_BLANKS = re.compile(r"[^\S \t\n\r\v\f]")  # what str.split() splits at and C does not


def _python_digits(text: str) -> bool:
    """Digits only Python reads as such: non-ASCII ones (١٢, １２) or 1_000's underscore."""
    return bool(re.search(r"\d_\d", text)) or any(c.isdigit() and not c.isascii() for c in text)


def cause(outcome: str, case: Case, detail: str) -> str:
    """The likely cause of a finding, for grouping the report (the first that fits)."""
    text = _decoded(case.data) or ""
    if detail.startswith("CaseTimeout"):
        return "no answer: the reader kept reading"
    if detail.startswith("a word read as a number"):
        return "a word (T, F, True) read as a number"
    if detail.startswith("frame") and "non-finite virial" in detail:
        return "a non-finite virial (a stress times an overflowing cell volume) accepted"
    if "virial read transposed" in detail:
        return "9-component virial read column-major (transposed)"
    if _PYTHON_BLANKS.search(text):
        return "a non-ASCII blank (NBSP, U+2028, \\x1c ...) taken as a separator"
    if _python_digits(text):
        return "a number only Python reads (1_000, non-ASCII digits)"
    if "\ufeff" in text:
        return "a byte order mark inside the text"
    return "other: " + re.sub(r"/\S+|-?\d[\w.+-]*|array\(.*", "#", detail.split("\n")[0])[:100]


def describe(report: Report, seed: int, per_kind: int = 2) -> str:
    """The findings grouped by kind: each kind's count and its first cases, with the command
    to rerun each alone."""
    kinds: dict[str, list[tuple[Case, str]]] = {}
    for outcome, case, detail in report.findings:
        kinds.setdefault(f"{outcome} {case.reader}: {cause(outcome, case, detail)}", []).append((case, detail))
    lines = []
    for kind, found in kinds.items():
        lines.append(f"[{len(found)} case(s)] {kind}")
        for case, detail in found[:per_kind]:
            lines.append(f"  case {case.index}: {detail[:500]}\n    mutations: {'; '.join(case.mutations)}\n"
                         f"    rerun: python benchmarks/fuzz_readers.py --seed {seed} "
                         f"--readers {case.reader} --case {case.index} --keep DIR")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10000, help="cases per reader")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--readers", default=",".join(READERS))
    parser.add_argument("--case", type=int, help="rerun only this case (with --keep: save its file)")
    parser.add_argument("--keep", type=Path, help="save the files of CRASH, WRONG and LENIENT cases here")
    args = parser.parse_args()
    readers = tuple(args.readers.split(","))
    report = fuzz(args.cases, args.seed, readers, args.keep, args.case)
    print(f"seed {args.seed}, {args.cases if args.case is None else 1} case(s) per reader\n")
    print(report.table())
    if report.findings:
        print(f"\n{len(report.findings)} finding(s):\n{describe(report, args.seed)}")


if __name__ == "__main__":
    main()
