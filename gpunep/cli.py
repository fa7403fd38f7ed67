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

    forwarded = ["--compile", args.compile] if args.compile else []
    return doctor.main(forwarded)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gpunep", description="Evaluate and edit NEP models on GPUs and CPUs.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = sub.add_parser("info", help="print a model's hyperparameters and sizes")
    info.add_argument("model", nargs="?", help="nep.txt (default: an embedded synthetic model)")
    info.add_argument("--restart", help="nep.restart to load alongside the model")
    info.set_defaults(handler=_cmd_info)

    doctor = sub.add_parser("doctor", help="report CuPy, GPU, NVRTC/nvcc and host compiler status")
    doctor.add_argument("--compile", metavar="ARCHS",
                        help="also compile every kernel for these GPU architectures, e.g. sm_70,sm_80,sm_90")
    doctor.set_defaults(handler=_cmd_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gpunep`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (OSError, ValueError) as exc:
        print(f"gpunep {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
