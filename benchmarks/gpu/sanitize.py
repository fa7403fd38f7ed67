"""One small evaluation of each model type on the GPU, for ``compute-sanitizer`` to watch.

    compute-sanitizer --tool memcheck python -P benchmarks/gpu/sanitize.py
    compute-sanitizer --tool racecheck python -P benchmarks/gpu/sanitize.py

The models are the generated ones CI compiles for every GPU architecture
(:func:`gpunep.engine.builds.check_models`: a NEP4 potential with ZBL, a NEP3
potential with every invariant, charge, dipole and polarizability models) on
a few small periodic structures, in float32 and float64. Exits non-zero if
an evaluation fails; the sanitizer's own exit code reports what it found.
"""

from __future__ import annotations

import sys

import numpy as np
from ase.build import bulk


def structures(species):
    out = []
    for k, (shape, a) in enumerate((((2, 2, 2), 4.2), ((1, 1, 3), 4.6))):
        atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(shape)
        atoms.set_chemical_symbols([species[i % len(species)] for i in range(len(atoms))])
        atoms.rattle(0.05, seed=k)
        out.append(atoms)
    return out


def main() -> int:
    from gpunep.backends.kernel import KernelBackend
    from gpunep.engine.builds import check_models
    from gpunep.structures import pack

    for label, model in check_models().items():
        batch = pack(structures(model.types), model)
        for precision in ("float32", "float64"):
            result = KernelBackend(model, "cuda", precision).evaluate(batch, descriptors=True)
            result.check_finite()
            print(f"{label} {precision}: ok ({batch.n_atoms} atoms)", flush=True)
    return 0


if __name__ == "__main__":
    np.seterr(all="raise")
    sys.exit(main())
