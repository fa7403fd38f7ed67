"""The ``gpunep`` command line.

Each subcommand is a small function; heavy imports happen inside them so
``gpunep --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence


def _demo_model():
    """The embedded default: a small synthetic Te/Pb model made by our own generator."""
    from gpunep.model import random_model

    return random_model(("Te", "Pb"), cutoff=(8.0, 4.0), n_max=(4, 4), basis_size=(8, 8),
                        l_max=(4, 2, 0), n_neuron=30, max_neighbors=(74, 10), seed=2024)


def _cmd_info(args: argparse.Namespace) -> int:
    from gpunep.model import read_model

    if args.model is None:
        model = _demo_model()
        print("No model given: showing the embedded synthetic model (random weights, "
              "Te/Pb, the architecture of the walkthrough's nep4_PbTe.txt).\n")
    else:
        model = read_model(args.model, restart_file=args.restart)
    print(model)
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from gpunep import doctor

    forwarded = ["--arch", args.arch, "--precision", args.precision]
    if args.compile:
        forwarded += ["--compile", args.compile]
    if args.resources:
        forwarded += ["--resources", args.resources]
    if args.emit:
        forwarded += ["--emit", *args.emit]
    return doctor.main(forwarded)


def _cmd_predict(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gpunep.distributed import cluster_client
    from gpunep.io.file_set import staged_directory
    from gpunep.io.gpumd_files import write_prediction
    from gpunep.model import read_model
    from gpunep.prediction import predict

    model = read_model(args.model)
    with cluster_client(args.scheduler, args.local_cluster, args.backend) as client:
        if args.stream:
            return _predict_streamed(args, model, client)
        result = predict(model, args.data, backend=args.backend, precision=args.precision,
                         batch_size=_batch_size(args.batch_size), descriptors=args.descriptors is not None,
                         progress=None, client=client, chunk_size=_chunk_size(args.chunk_size),
                         **_charge_options(args))
    output = Path(args.output)
    # the whole output set appears together, or (a full disk, say) none of it does
    with staged_directory(output) as staging:
        written = write_prediction(result, staging, descriptors=args.descriptors)
        written.append(_write_nep_in(model, staging))
        print(f"{result.n_structures} structures, {result.n_atoms} atoms; "
              f"{model.model_type} model; backend {result.backend} ({result.precision})")
        print(result.rmse(title=f"{args.model} vs the reference values of {args.data}").format())
        if not args.no_plots:
            from gpunep.plots import parity_plots

            try:
                written += parity_plots(result, staging)
            except ImportError as exc:
                print(f"gpunep predict: parity plots skipped: {exc}", file=sys.stderr)
    print("wrote " + ", ".join(str(output / p.name) for p in written))
    return 0


def _predict_streamed(args: argparse.Namespace, model, client) -> int:
    from gpunep.distributed import write_on_cluster

    if client is None:
        raise ValueError("--stream writes chunks as Dask workers finish them: give --scheduler or --local-cluster")
    written, n_structures, n_atoms = write_on_cluster(
        client, model, args.data, args.output, descriptors=args.descriptors, backend=args.backend,
        precision=args.precision, batch_size=_batch_size(args.batch_size),
        chunk_size=_chunk_size(args.chunk_size), progress=None, **_charge_options(args))
    written.append(_write_nep_in(model, args.output))
    print(f"{n_structures} structures, {n_atoms} atoms; {model.model_type} model "
          "(streamed: no RMSE table or parity plots, they need every value in memory)")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _write_nep_in(model, directory) -> "Path":
    """nep.in of the model that predicted (its architecture, ``prediction 1``): with train.xyz and
    the *_train.out files the folder reads like a nep run (``calorine.nep.read_structures``)."""
    from pathlib import Path

    from gpunep.model import write_nepfile

    write_nepfile({**model.training_parameters, "prediction": 1}, directory)
    return Path(directory) / "nep.in"


def _cmd_active(args: argparse.Namespace) -> int:
    import numpy as np

    from gpunep.committee import predict_committee
    from gpunep.distributed import cluster_client

    with cluster_client(args.scheduler, args.local_cluster, args.backend) as client:
        result = predict_committee(args.models, args.data, backend=args.backend, precision=args.precision,
                                   variance=args.variance, batch_size=_batch_size(args.batch_size),
                                   progress=None, client=client, chunk_size=_chunk_size(args.chunk_size),
                                   **_charge_options(args))
    selected = result.select(args.threshold)
    selected.write_extxyz(args.output)
    q = np.quantile(result.max_force_std, [0.0, 0.5, 0.9, 1.0])
    print(f"{result.n_structures} structures, committee of {result.n_members} ({args.variance} variance)")
    print(f"max force spread per structure (eV/Å): min {q[0]:.4g}, median {q[1]:.4g}, "
          f"90% {q[2]:.4g}, max {q[3]:.4g}")
    print(f"{selected.n_structures} structures above {args.threshold:g} eV/Å; wrote {args.output}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from gpunep.compare import compare

    result = compare(args.model_a, args.model_b, args.data, backend=args.backend,
                     precision=args.precision, batch_size=_batch_size(args.batch_size),
                     gpumd_outputs=args.gpumd_outputs, tolerances=_tolerances(args.tolerance),
                     **_charge_options(args))
    print(f"A = {args.model_a}\nB = {args.model_b}\ndata = {args.data} "
          f"({result.a.n_structures} structures, {result.a.n_atoms} atoms); "
          f"backend {result.a.backend} ({result.a.precision})\n")
    print(result.report())
    return 0 if result.passed else 1


def _cmd_edit(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gpunep.io.file_set import write_together
    from gpunep.model import editing, read_model

    model = read_model(args.model, restart_file=args.restart)
    edited = model
    steps = []
    if args.keep:
        edited = editing.keep_species(edited, _names(args.keep))
        steps.append(f"keep {args.keep}")
    if args.remove:
        edited = editing.remove_species(edited, _names(args.remove))
        steps.append(f"remove {args.remove}")
    if args.prune:
        edited = editing.prune(edited, **_settings(args.prune, "--prune", editing.prune))
        steps.append(f"prune {args.prune}")
    if args.augment:
        edited = editing.augment(edited, **_settings(args.augment, "--augment", editing.augment))
        steps.append(f"augment {args.augment}")
    if not steps:
        raise ValueError("nothing to do: give --keep, --remove, --prune and/or --augment")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    writers = {output: lambda path: edited.write(str(path))}
    if edited.restart_parameters is not None:
        restart = Path(args.restart_output) if args.restart_output else _restart_path(output)
        if restart.resolve() == output.resolve():
            raise ValueError(f"the restart would overwrite the edited model {output}: "
                             "give --restart-output another file")
        writers[restart] = lambda path: edited.write_restart(str(path))
    written = write_together(writers)   # the model and its restart, or neither
    print(f"{args.model}: {'; '.join(steps)}")
    print(f"species {', '.join(model.types)} -> {', '.join(edited.types)}; "
          f"parameters {model.n_parameters} -> {edited.n_parameters}")
    print("wrote " + ", ".join(str(path) for path in written))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from gpunep import bench

    if args.model is None:
        if args.structures is not None:
            raise ValueError("structures need a model: gpunep bench MODEL STRUCTURES")
        model = None
        print(bench.SYNTHETIC_LABEL)
        print(f"structures: generated rattled fcc (a = {bench.FCC_LATTICE} Å), random species\n")
    else:
        from gpunep.model import read_model

        model = read_model(args.model)
        print(f"model: {args.model} ({', '.join(model.types[:8])}{' ...' if model.n_types > 8 else ''})")
    structures = None
    if args.structures is not None:
        from gpunep.io.extxyz import iter_structures

        structures = list(iter_structures(args.structures))
    backends = _names(args.backend) if args.backend else None
    rows = bench.run(model, structures, backends=backends, precision=args.precision,
                     seconds=args.seconds, deadline=args.deadline)
    print(bench.format_rows(rows))
    return 0


def _cmd_ipi(args: argparse.Namespace) -> int:
    import ase.io

    from gpunep.calculator import NEPCalculator
    from gpunep.ipi import serve
    from gpunep.model import read_model

    model = read_model(args.model)
    structure = ase.io.read(args.structure, index=0)
    calc = NEPCalculator(model, backend=args.backend, precision=args.precision, **_charge_options(args))
    where = f"UNIX socket {args.address}" if args.unix else f"{args.address}:{args.port}"
    print(f"{args.model} ({calc.backend.name}, {calc.backend.precision}) serving {len(structure)} atoms "
          f"of {args.structure} to i-PI at {where}", flush=True)
    served = serve(calc, structure, address=args.address, port=args.port, unix=args.unix,
                   wait=args.wait)
    print(f"i-PI ended the run after {served} force evaluations")
    return 0


def _charge_options(args: argparse.Namespace) -> dict:
    return {"kspace": args.kspace, "mean_d_correction": not args.no_mean_d_correction}


def _batch_size(text: str, option: str = "--batch-size") -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{option} must be 'auto' or a positive integer, not {text!r}") from None


def _chunk_size(text: str) -> int | str:
    return _batch_size(text, "--chunk-size")


def _names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _settings(text: str, option: str, edit: Callable) -> dict[str, int]:
    """``n_neuron=40,l_max_5b=1`` -> ``{'n_neuron': 40, 'l_max_5b': 1}``, names checked against ``edit``."""
    valid = _integer_settings(edit)
    settings = {}
    for item in _names(text):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{option} expects name=value pairs, got {item!r}")
        key = key.strip()
        if key not in valid:
            raise ValueError(f"{option}: unknown setting {key!r}; the settings are "
                             f"{', '.join(valid)}")
        try:
            settings[key] = int(value)
        except ValueError:
            raise ValueError(f"{option} {key}: {value!r} is not an integer") from None
    return settings


def _integer_settings(edit: Callable) -> list[str]:
    """The keyword settings of an edit that take whole numbers (flags included).

    The restart widths (``sigma_*``) are real numbers and stay with the Python API.
    """
    import inspect

    names = list(inspect.signature(edit).parameters)[1:]   # after the model
    return [name for name in names if not name.startswith("sigma_")]


def _tolerances(text: str | None) -> dict[str, float]:
    """``energy=1e-6,force=1e-5`` -> ``{'energy': 1e-6, 'force': 1e-5}``."""
    if not text:
        return {}
    tolerances = {}
    for item in _names(text):
        key, sep, value = item.partition("=")
        try:
            tolerances[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"--tolerance expects name=value pairs such as energy=1e-6, got {item!r}")
    return tolerances


def _restart_path(output):
    """Where the restart of an edited model goes: nep.txt -> nep.restart next to it."""
    return output.with_suffix(".restart") if output.suffix else output.with_name(output.name + ".restart")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gpunep", description="Evaluate and edit NEP models on GPUs and CPUs.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = sub.add_parser("info", help="print a model's hyperparameters and sizes")
    info.add_argument("model", nargs="?", help="nep.txt (default: an embedded synthetic model)")
    info.add_argument("--restart", help="nep.restart to load alongside the model")
    info.set_defaults(handler=_cmd_info)

    doctor = sub.add_parser("doctor", help="report CuPy, GPU, NVRTC/nvcc and host compiler status; "
                                           "GPU compile checks and a model's kernel resources")
    from gpunep.doctor import add_arguments

    add_arguments(doctor)
    doctor.set_defaults(handler=_cmd_doctor)

    predict = sub.add_parser(
        "predict", help="evaluate a model on a data set; GPUMD's *_train.out files (with train.xyz and "
                        "nep.in, as a nep run), RMSEs, parity plots")
    predict.add_argument("model", help="nep.txt")
    predict.add_argument("data", help="structures (extxyz with GPUMD's conventions, or any format ASE reads)")
    predict.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the outputs")
    _evaluation_options(predict)
    predict.add_argument("--descriptors", nargs="?", const="atom", choices=("atom", "structure"),
                         help="also write descriptor.out: per atom (default) or per-structure mean")
    predict.add_argument("--no-plots", action="store_true", help="skip the parity plots")
    _cluster_options(predict)
    predict.add_argument("--stream", action="store_true",
                         help="with a cluster: write the files as chunks finish, holding nothing in "
                              "memory (no RMSE table or parity plots)")
    predict.set_defaults(handler=_cmd_predict)

    _add_active(sub)

    compare = sub.add_parser(
        "compare", help="compare two models (e.g. original and edited) on a data set, and with GPUMD")
    compare.add_argument("model_a", help="nep.txt of model A (e.g. the original)")
    compare.add_argument("model_b", help="nep.txt of model B (e.g. the edited model)")
    compare.add_argument("data", help="structures both models can evaluate")
    compare.add_argument("--gpumd-outputs", metavar="DIR",
                         help="folder with GPUMD's *_train.out for the same structures")
    compare.add_argument("--tolerance", metavar="LIMITS",
                         help="fail (exit 1) when max |A-B| exceeds these, e.g. "
                              "energy=1e-6,force=1e-5,virial=1e-6 (eV/atom, eV/Å, eV/atom); "
                              "also charge, bec (e), dipole, polarizability (per atom)")
    _evaluation_options(compare)
    compare.set_defaults(handler=_cmd_compare)

    edit = sub.add_parser("edit", help="keep/remove species, prune or augment a model")
    edit.add_argument("model", help="nep.txt")
    edit.add_argument("-o", "--output", required=True, metavar="OUT", help="the edited nep.txt")
    edit.add_argument("--restart", help="nep.restart of MODEL: edited along with it")
    edit.add_argument("--restart-output", metavar="FILE",
                      help="where the edited restart goes (default: OUT with suffix .restart)")
    edit.add_argument("--keep", metavar="SPECIES", help="keep only these species, e.g. Te,Pb")
    edit.add_argument("--remove", metavar="SPECIES", help="remove these species")
    edit.add_argument("--prune", metavar="SETTINGS", help="e.g. n_neuron=20,l_max_5b=0")
    edit.add_argument("--augment", metavar="SETTINGS", help="e.g. n_neuron=40,l_max_5b=1")
    edit.set_defaults(handler=_cmd_edit)

    _add_ipi(sub)

    bench = sub.add_parser(
        "bench", help="atom-steps per second per backend and size (default: a synthetic NEP89-size model)")
    bench.add_argument("model", nargs="?", help="nep.txt (default: a synthetic model with NEP89's architecture)")
    bench.add_argument("structures", nargs="?", help="structures to time, evaluated as one batch "
                                                     "(default: generated fcc boxes)")
    bench.add_argument("--backend", help="comma-separated backends (default: the fast ones available)")
    bench.add_argument("--precision", choices=("float32", "float64"))
    bench.add_argument("--seconds", type=float, default=2.0, help="time per case (default 2)")
    bench.add_argument("--deadline", type=float, default=50.0,
                       help="skip cases that would end later than this many seconds (default 50)")
    bench.set_defaults(handler=_cmd_bench)
    return parser


def _evaluation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", default="auto",
                        help="structures per batch, or auto (a memory budget; default)")
    _calculator_options(parser)


def _calculator_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", default="auto", choices=("auto", "cuda", "host", "reference"),
                        help="evaluator (default auto: cuda with a GPU, else host)")
    parser.add_argument("--precision", choices=("float32", "float64"),
                        help="precision of the descriptor and network math (default: the backend's)")
    parser.add_argument("--kspace", default="truncated", choices=("truncated", "converged"),
                        help="charge models: the Ewald sum, truncated at |k| < 2 pi alpha as "
                             "GPUMD's trainer (default) or converged")
    parser.add_argument("--no-mean-d-correction", action="store_true",
                        help="charge models: leave out the mean-D term of the chain rule, as "
                             "GPUMD's nep did before 2026-04 (to reproduce older *_train.out files)")


def _add_active(sub: "argparse._SubParsersAction") -> None:
    active = sub.add_parser(
        "active", help="committee of models: select the structures they disagree on (active learning)")
    active.add_argument("models", nargs="+", metavar="MODEL", help="two or more nep.txt")
    active.add_argument("data", help="structures to screen (extxyz, or any format ASE reads)")
    active.add_argument("--threshold", type=float, required=True,
                        help="select structures whose largest per-atom force spread exceeds this (eV/Å), "
                             "as GPUMD's active keyword")
    active.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="extxyz file for the selected structures")
    active.add_argument("--variance", default="population", choices=("population", "sample"),
                        help="divide by M (GPUMD's code; default) or by M-1 (GPUMD's documentation)")
    _evaluation_options(active)
    _cluster_options(active)
    active.set_defaults(handler=_cmd_active)


def _add_ipi(sub: "argparse._SubParsersAction") -> None:
    ipi = sub.add_parser("ipi", help="serve a model's energies, forces and virials to an i-PI server "
                                     "until it ends the run (docs/md-drivers.md#i-pi)")
    ipi.add_argument("model", help="nep.txt")
    ipi.add_argument("--structure", required=True, metavar="FILE",
                     help="the structure i-PI starts from (any file ASE reads; its species in i-PI's "
                          "atom order and its pbc, which i-PI does not send)")
    ipi.add_argument("--address", default="localhost",
                     help="the server's host name, or with --unix its socket name (i-PI's ffsocket "
                          "<address>; the socket is /tmp/ipi_ADDRESS); default localhost")
    ipi.add_argument("--port", type=int, default=31415, help="TCP port (default 31415, i-PI's)")
    ipi.add_argument("--unix", action="store_true", help="connect to a UNIX socket instead of TCP")
    ipi.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                     help="keep trying this long while no server listens yet (default 60)")
    _calculator_options(ipi)
    ipi.set_defaults(handler=_cmd_ipi)


def _cluster_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a Dask cluster: scheduler address (tcp://host:8786) or scheduler file (*.json)")
    where.add_argument("--local-cluster", type=int, metavar="N",
                       help="run on N Dask workers on this machine (one GPU each with --backend cuda)")
    parser.add_argument("--chunk-size", default="auto",
                        help="with a cluster: structures per chunk a worker takes, or auto (default)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gpunep`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (OSError, ValueError, ArithmeticError, MemoryError, ImportError, RuntimeError,
            NotImplementedError) as exc:
        print(f"gpunep {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
