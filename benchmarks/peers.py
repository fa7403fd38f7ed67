"""gpunep on the CPU against nep-adapters (NEP_CPU), in one run: speed, agreement, memory, compile time.

Printed, all measured in this run on this machine:

1. **Throughput** for each thread count of ``--threads`` (each in its own
   process with ``OMP_NUM_THREADS`` set, which both libraries' OpenMP
   obeys): atom-steps per second (and frames per second for the batch) of
   gpunep's ``host`` backend in float32 and float64 and of nep-adapters'
   ``NEPCalculator(backend='cpu')``, with the ratios gpunep / nep-adapters.
   The three are timed in interleaved rounds (benchmarks/timing.py: best
   round of each), so a busy moment of a shared machine hits all of them.
   One call is what an MD step costs: gpunep ``pack`` + ``evaluate`` (energy,
   forces, per-atom virials) against ``predict_structures`` (the same
   outputs); for the batch, ``gpunep.predict`` (default ``batch_size``)
   against ``predict_structures`` on all frames at once.
2. **Agreement** of each case: gpunep float64 against nep-adapters (NEP_CPU
   computes in double) and gpunep float32 against nep-adapters: the largest
   differences of energy, force and virial.
3. **Memory**: bytes per atom as the slope of peak RSS (``ru_maxrss``)
   between two sizes of C_2024 diamond, host float32, each size and library
   in a fresh process.
4. **Compile time** of the host kernels for an architecture not yet cached
   (an empty temporary ``GPUNEP_CACHE_DIR``): backend construction plus the
   first evaluation, then the same in a fresh process with the disk cache
   warm; and the NVRTC compile (to a cubin for ``--arch``, ptxas included)
   of the same model's GPU builds, when an NVRTC library is installed
   (``pip install nvidia-cuda-nvrtc-cu12``; no GPU needed).

Cases (``../shared/models``, skipped with a note when absent):

* ``c512``, ``c4096``: C_2024_NEP4 on diamond (a = 3.567 Å), 4³ and 8³
  conventional cells, rattled (0.05 Å, seeded);
* ``unep``: the 16-metal UNEP-v1 model on a 4,000-atom fcc random alloy
  (a = 4.0 Å, 10³ cells, every species equally likely, rattled);
* ``nep89``: NEP89 on 2,000 atoms of a (Ba,Sr)(Ti,Zr)O3 perovskite solid
  solution (a = 4.0 Å, 10 x 10 x 4 cells, A and B sites drawn at random,
  rattled): an oxide with five species, the kind of mixed chemistry NEP89
  is used for, at a realistic density;
* ``batch``: nep_prediction's train.xyz (25 x 250 atoms of Te/Pb) repeated
  8 times, 200 frames.

nep-adapters is not a gpunep dependency: ``pip install nep-adapters`` (its
1.0.3 wheel) to include it; without it gpunep's numbers are still printed.

    python benchmarks/peers.py [--threads 1,2] [--seconds 3] [--cases c512,c4096,unep,nep89,batch]
                               [--memory-cells 16,24] [--no-memory] [--no-compile]

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from timing import best_round_seconds  # benchmarks/timing.py, next to this script

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "models"
C_2024 = SHARED / "gpumd" / "potentials" / "C_2024_NEP4.txt"
UNEP = SHARED / "gpumd" / "potentials" / "Song-2024-UNEP-v1-AgAlAuCrCuMgMoNiPbPdPtTaTiVWZr.txt"
NEP89 = SHARED / "nep89" / "nep89.txt"
PREDICTION = SHARED / "gpumd" / "nep_prediction"
CASE_NAMES = ("c512", "c4096", "unep", "nep89", "batch")
INSTALL_PEER = "pip install nep-adapters  (version 1.0.3, its manylinux wheel)"
RATTLE = 0.05  # Å: off the lattice sites, so no force vanishes by symmetry


class Case(NamedTuple):
    """One benchmark case: a model file and the structures one call evaluates."""

    name: str
    label: str
    model_path: Path
    structures: list
    batch: bool = False  # timed through gpunep.predict, reported in frames/s too


class Outputs(NamedTuple):
    """What both libraries return, in one layout: energies (S,), forces (N, 3), virials (S, 3, 3)."""

    energy: np.ndarray
    forces: np.ndarray
    virial: np.ndarray


# ------------------------------------------------------------------ structures
def diamond(cells: int, seed: int = 1):
    """Carbon diamond of ``cells``³ conventional cells (8 atoms each), rattled."""
    from ase.build import bulk

    atoms = bulk("C", "diamond", a=3.567, cubic=True).repeat((cells, cells, cells))
    atoms.rattle(RATTLE, seed=seed)
    return atoms


def random_alloy(species: tuple[str, ...], cells: int = 10, seed: int = 2):
    """An fcc random alloy of ``species`` (4 x ``cells``³ atoms, a = 4.0 Å), rattled."""
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", a=4.0, cubic=True).repeat((cells, cells, cells))
    rng = np.random.default_rng(seed)
    atoms.set_chemical_symbols(rng.choice(species, len(atoms)))
    atoms.rattle(RATTLE, seed=seed)
    return atoms


def perovskite_solid_solution(seed: int = 3):
    """2,000 atoms of (Ba,Sr)(Ti,Zr)O3: cubic perovskite a = 4.0 Å, 10 x 10 x 4 cells."""
    from ase import Atoms

    cell = Atoms("BaTiO3", cell=[4.0] * 3, pbc=True,
                 scaled_positions=[(0, 0, 0), (0.5, 0.5, 0.5), (0.5, 0.5, 0), (0.5, 0, 0.5), (0, 0.5, 0.5)])
    atoms = cell.repeat((10, 10, 4))
    rng = np.random.default_rng(seed)
    symbols = np.array(atoms.get_chemical_symbols())
    symbols[symbols == "Ba"] = rng.choice(["Ba", "Sr"], int((symbols == "Ba").sum()))
    symbols[symbols == "Ti"] = rng.choice(["Ti", "Zr"], int((symbols == "Ti").sum()))
    atoms.set_chemical_symbols(symbols)
    atoms.rattle(RATTLE, seed=seed)
    return atoms


def cases(names: list[str]) -> tuple[list[Case], list[str]]:
    """The requested cases whose files exist, and a note for each one left out."""
    import ase.io

    from gpunep import read_model

    builders: dict[str, tuple[Path, Callable[[], Case]]] = {
        "c512": (C_2024, lambda: Case("c512", "C_2024 diamond 512 atoms, rattled", C_2024, [diamond(4)])),
        "c4096": (C_2024, lambda: Case("c4096", "C_2024 diamond 4096 atoms, rattled", C_2024, [diamond(8)])),
        "unep": (UNEP, lambda: Case("unep", "UNEP-v1 (16 species) 4000-atom fcc random alloy", UNEP,
                                    [random_alloy(read_model(UNEP).types)])),
        "nep89": (NEP89, lambda: Case("nep89", "NEP89, 2000-atom (Ba,Sr)(Ti,Zr)O3 perovskite", NEP89,
                                      [perovskite_solid_solution()])),
        "batch": (PREDICTION / "train.xyz", lambda: Case(
            "batch", "nep_prediction train.xyz x8 (200 x 250 atoms), gpunep.predict vs predict_structures",
            PREDICTION / "nep.txt", ase.io.read(PREDICTION / "train.xyz", ":") * 8, batch=True)),
    }
    found, missing = [], []
    for name in names:
        if name not in builders:
            raise SystemExit(f"unknown case {name!r}; choose from {', '.join(CASE_NAMES)}")
        path, build = builders[name]
        if path.is_file():
            found.append(build())
        else:
            missing.append(f"{name}: {path} not present, case left out")
    return found, missing


# ------------------------------------------------------------------ methods
def gpunep_method(case: Case, model, precision: str) -> Callable[[], Outputs]:
    """One gpunep call of the case (what an MD step or a prediction run costs)."""
    from gpunep.backends import get_backend
    from gpunep.prediction import predict
    from gpunep.structures import pack

    if case.batch:
        def run_predict() -> Outputs:
            result = predict(model, case.structures, backend="host", precision=precision, progress=False)
            return Outputs(result.energy, result.forces, result.virial)
        return run_predict
    backend = get_backend(model, "host", precision)

    def run() -> Outputs:
        result = backend.evaluate(pack(case.structures, model))
        return Outputs(result.energy, result.forces, result.virial)
    return run


def adapters_method(case: Case) -> Callable[[], Outputs]:
    """One nep-adapters call: ``predict_structures`` on all of the case's structures."""
    from nep_adapters import NEPCalculator

    calculator = NEPCalculator(str(case.model_path), backend="cpu")

    def run() -> Outputs:
        prediction = calculator.predict_structures(case.structures)
        counts = np.asarray(prediction.atom_counts)
        # structure_virials is the per-atom mean, row-major: times N for the total
        virial = np.asarray(prediction.structure_virials).reshape(-1, 3, 3) * counts[:, None, None]
        return Outputs(np.asarray(prediction.energy).reshape(-1), np.asarray(prediction.forces), virial)
    return run


def peer_available() -> str | None:
    """None when nep-adapters imports, else the reason and how to install it."""
    try:
        import nep_adapters  # noqa: F401
    except ImportError as exc:
        return f"nep-adapters is not installed ({exc}): {INSTALL_PEER}"
    return None


# ------------------------------------------------------------------ throughput
def agreement(mine: Outputs, peer: Outputs, n_atoms: int) -> str:
    """Largest differences: energy and virial per atom, force components, and relative."""
    d_energy = np.abs(mine.energy - peer.energy).max()
    d_force = np.abs(mine.forces - peer.forces).max()
    d_virial = np.abs(mine.virial - peer.virial).max()
    relative_e = d_energy / np.abs(peer.energy).max()
    relative_f = d_force / np.abs(peer.forces).max()
    return (f"max|dE| {d_energy:.2e} eV (rel {relative_e:.1e}), max|dF| {d_force:.2e} eV/Å "
            f"(rel to max|F| {relative_f:.1e}), max|dW| {d_virial:.2e} eV "
            f"({d_virial / n_atoms * len(peer.energy):.1e} eV/atom)")


def measure_case(case: Case, seconds: float, with_peer: bool) -> None:
    """Time one case (interleaved rounds), print rates, ratios and agreement."""
    from gpunep import read_model

    model = read_model(case.model_path)
    methods = {f"gpunep host {p}": gpunep_method(case, model, p) for p in ("float32", "float64")}
    if with_peer:
        methods["nep-adapters cpu (float64)"] = adapters_method(case)
    warm = time.perf_counter()
    outputs = {key: run() for key, run in methods.items()}  # warm-up: kernels, buffers, lists
    warm = time.perf_counter() - warm
    best = best_round_seconds(methods, seconds)
    n_atoms = sum(len(atoms) for atoms in case.structures)
    n_frames = len(case.structures)
    print(f"\n{case.label}: {n_frames} structure(s), {n_atoms} atoms "
          f"(warm-up {warm:.1f} s; load average {os.getloadavg()[0]:.2f})")
    print(f"  {'method':<28} {'s/call':>9} {'atom-steps/s':>13}" + (f" {'frames/s':>9}" if case.batch else ""))
    for key, t in best.items():
        print(f"  {key:<28} {t:>9.4f} {n_atoms / t:>13.4g}" + (f" {n_frames / t:>9.2f}" if case.batch else ""))
    if not with_peer:
        return
    peer_key = "nep-adapters cpu (float64)"
    ratios = ", ".join(f"{p} {best[peer_key] / best[f'gpunep host {p}']:.2f}x" for p in ("float32", "float64"))
    print(f"  ratio gpunep / nep-adapters (atom-steps/s): {ratios}")
    for precision in ("float64", "float32"):
        print(f"  agreement gpunep {precision} vs nep-adapters: "
              f"{agreement(outputs[f'gpunep host {precision}'], outputs[peer_key], n_atoms)}")


def throughput(args) -> None:
    """One process, one OpenMP thread count: every case."""
    threads = os.environ.get("OMP_NUM_THREADS", "(OpenMP default)")
    print(f"\n=== throughput, OMP_NUM_THREADS={threads} (gpunep host and NEP_CPU alike), "
          f"best of interleaved rounds, {args.seconds:g} s per method and case ===")
    missing_peer = peer_available()
    if missing_peer:
        print(missing_peer)
    found, missing = cases(args.cases.split(","))
    for note in missing:
        print(note)
    for case in found:
        measure_case(case, args.seconds, missing_peer is None)


# ------------------------------------------------------------------ memory
def memory_child(library: str, cells: int) -> None:
    """Evaluate C_2024 diamond of ``cells``³ cells once; print peak RSS before and after (JSON)."""
    atoms = diamond(cells)
    if library == "nep-adapters":
        from nep_adapters import NEPCalculator

        calculator = NEPCalculator(str(C_2024), backend="cpu")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        calculator.predict_structures([atoms])
    else:
        from gpunep import read_model
        from gpunep.backends import get_backend
        from gpunep.structures import pack

        model = read_model(C_2024)
        backend = get_backend(model, "host", "float32")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        backend.evaluate(pack([atoms], model), per_atom=library == "gpunep")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"atoms": len(atoms), "before_kb": before, "peak_kb": after}))


def _child(arguments: list[str], env: dict | None = None) -> dict:
    """Run this script with ``arguments`` in a fresh process; its last stdout line as JSON."""
    result = subprocess.run([sys.executable, __file__, *arguments], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def memory(args) -> None:
    """Bytes per atom: the slope of peak RSS between two diamond sizes, per library."""
    small, large = (int(c) for c in args.memory_cells.split(","))
    threads = args.threads.split(",")[-1].strip()
    env = dict(os.environ, OMP_NUM_THREADS=threads)
    print(f"\n=== memory: peak RSS (ru_maxrss) of one evaluation of C_2024 diamond, host float32, "
          f"each in a fresh process, OMP_NUM_THREADS={threads} ===")
    libraries = {"gpunep": "gpunep host float32, per-atom virials",
                 "gpunep-no-per-atom": "gpunep host float32, per_atom=False"}
    if peer_available() is None:
        libraries["nep-adapters"] = "nep-adapters cpu (float64)"
    else:
        print(peer_available())
    print(f"  {'library':<40} {'atoms':>8} {'peak MB':>9} {'atoms':>8} {'peak MB':>9} "
          f"{'slope B/atom':>13} {'(before eval)':>14}")
    for library, label in libraries.items():
        rows = [_child(["--memory-child", library, str(cells)], env) for cells in (small, large)]
        d_atoms = rows[1]["atoms"] - rows[0]["atoms"]
        slope = (rows[1]["peak_kb"] - rows[0]["peak_kb"]) * 1024 / d_atoms
        slope_before = (rows[1]["before_kb"] - rows[0]["before_kb"]) * 1024 / d_atoms
        print(f"  {label:<40} {rows[0]['atoms']:>8} {rows[0]['peak_kb'] / 1024:>9.1f} "
              f"{rows[1]['atoms']:>8} {rows[1]['peak_kb'] / 1024:>9.1f} {slope:>13.0f} {slope_before:>14.0f}")
    print("  (slope B/atom: the evaluation's memory per atom; '(before eval)': the same slope before\n"
          "   evaluating, i.e. the structure itself; issue 10's target for gpunep: <= 4096 B/atom)")


# ------------------------------------------------------------------ compile time
def compile_child(model_path: str, precision: str) -> None:
    """Time backend construction + first evaluation, then a second construction (JSON)."""
    from gpunep import read_model
    from gpunep.backends import get_backend
    from gpunep.structures import pack

    model = read_model(model_path)
    atoms = diamond(2) if model.types == ("C",) else random_alloy(model.types[:4], cells=2)
    tic = time.perf_counter()
    backend = get_backend(model, "host", precision)
    built = time.perf_counter() - tic
    backend.evaluate(pack([atoms], model))
    first = time.perf_counter() - tic
    tic = time.perf_counter()
    get_backend(model, "host", precision).evaluate(pack([atoms], model))
    again = time.perf_counter() - tic
    print(json.dumps({"construct_s": built, "construct_and_first_s": first, "same_process_again_s": again}))


def host_compile(args) -> None:
    """First use (empty cache), a second architecture (lists module cached), warm disk cache."""
    threads = args.threads.split(",")[-1].strip()
    print(f"\n=== host compile time (g++, OMP_NUM_THREADS={threads}; load average "
          f"{os.getloadavg()[0]:.2f}) ===")
    print(f"  {'model':<10} {'precision':<9} {'cache':<42} {'construct s':>11} "
          f"{'+ first eval s':>14} {'same process again s':>21}")
    models = [(name, path) for name, path in (("C_2024", C_2024), ("NEP89", NEP89)) if path.is_file()]
    for precision in ("float32", "float64"):
        with tempfile.TemporaryDirectory(prefix="gpunep-cache-") as cache:
            env = dict(os.environ, OMP_NUM_THREADS=threads, GPUNEP_CACHE_DIR=cache)
            states = [(models[0], "empty (first use of gpunep)")]
            states += [(m, "new architecture (lists module cached)") for m in models[1:]]
            states += [(m, "warm disk cache, fresh process") for m in models]
            for (name, path), state in states:
                row = _child(["--compile-child", str(path), precision], env)
                print(f"  {name:<10} {precision:<9} {state:<42} {row['construct_s']:>11.2f} "
                      f"{row['construct_and_first_s']:>14.2f} {row['same_process_again_s']:>21.3f}")


def nvrtc_compile(args) -> None:
    """NVRTC compile time of each GPU build of the models (float32), when NVRTC is installed."""
    from gpunep import read_model
    from gpunep.doctor.compilers import INSTALL_HINT, available_compilers
    from gpunep.engine.builds import evaluator_builds
    from gpunep.executors.executor import Executor
    from gpunep.executors.kernel_source import define_options, load_source

    print(f"\n=== NVRTC compile time, {args.arch}, float32 (to a cubin: ptxas included) ===")
    compilers, problems = available_compilers()
    compiler = next((c for c in compilers if c.supports(args.arch) and c.name.startswith("NVRTC")), None)
    if compiler is None:
        print(f"  no NVRTC library targets {args.arch}: {INSTALL_HINT}")
        for problem in problems:
            print(f"  {problem}")
        return
    print(f"  compiler: {compiler.name}")
    for name, path in (("C_2024", C_2024), ("NEP89", NEP89)):
        if not path.is_file():
            continue
        for build in evaluator_builds(read_model(path), Executor("cuda", "float32")):
            source = load_source(build.files)
            tic = time.perf_counter()
            result = compiler.compile(source, args.arch, "float32", define_options(build.define_map))
            seconds = time.perf_counter() - tic
            state = "ok" if result.ok else f"FAILED:\n{result.log[-2000:]}"
            print(f"  {name:<8} {build.label:<22} {seconds:>7.2f} s  {state}")


# ------------------------------------------------------------------ driver
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2", help="comma-separated OMP_NUM_THREADS values")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per method and case")
    parser.add_argument("--cases", default=",".join(CASE_NAMES))
    parser.add_argument("--memory-cells", default="16,24",
                        help="diamond sizes in cells per edge (8 atoms per cell): 16,24 = 32,768 and 110,592 atoms")
    parser.add_argument("--arch", default="sm_90", help="GPU architecture of the NVRTC compile")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--compile-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return throughput(args)
    if args.memory_child:
        return memory_child(args.memory_child[0], int(args.memory_child[1]))
    if args.compile_child:
        return compile_child(*args.compile_child)
    print(f"{os.cpu_count()} CPU cores; load average at start {os.getloadavg()}")
    for threads in args.threads.split(","):
        subprocess.run([sys.executable, __file__, "--child", "--seconds", str(args.seconds),
                        "--cases", args.cases], env=dict(os.environ, OMP_NUM_THREADS=threads.strip()),
                       check=True)
    if not args.no_memory:
        memory(args)
    if not args.no_compile:
        host_compile(args)
        nvrtc_compile(args)
    print(f"\nload average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
