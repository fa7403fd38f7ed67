"""The model as the kernels read it: compile-time architecture and the one ``params`` array.

The offsets Python writes (gpunep.engine.model_arrays.params_layout) and the
offsets the kernels read (the NEP_P_* constants of kernels/nep_arch.cuh) are
two codes; a probe kernel compiled with each model's defines writes its
constants, and they must equal Python's, for every flavour that changes the
layout (ZBL, charge head, polarizability network, NEP3, every invariant).
"""

from __future__ import annotations

import numpy as np
import pytest

from gpunep.engine.builds import model_build
from gpunep.engine.model_arrays import architecture, model_arrays, params_layout
from gpunep.executors import host
from gpunep.executors.executor import Executor
from gpunep.model import random_model

PROBE = """
#include "nep_arch.cuh"
extern "C" __global__ void nep_layout_probe(unsigned long long* out)
{
  const long long values[] = {NEP_P_RC_RADIAL, NEP_P_RC_ANGULAR, NEP_P_C_RADIAL, NEP_P_C_ANGULAR,
                              NEP_P_Q_SCALER, NEP_P_ANN, NEP_P_ZBL, NEP_P_ANN_CHARGE,
                              NEP_P_ANN_POLAR, NEP_P_SIZE, NEP_DIM, NEP_N_ABC, NEP_N_INVARIANTS};
  for (int k = 0; k < 13; ++k) out[k] = (unsigned long long)values[k];
}
"""
BLOCKS = ("rc_radial", "rc_angular", "c_radial", "c_angular", "q_scaler", "ann", "zbl",
          "ann_charge", "ann_polar", "size")

MODELS = {
    "NEP4 + ZBL": dict(zbl=(1.0, 2.0)),
    "NEP3, every invariant": dict(version=3, l_max=(8, 2, 1, 1, 1, 1, 1)),
    "NEP5": dict(version=5),
    "charge model": dict(model_type="potential_with_charges", charge_mode=1),
    "polarizability": dict(model_type="polarizability"),
    "three species, typewise cutoffs": dict(types=("H", "C", "O"),
                                            cutoff=([5.0, 6.0, 5.5], [4.0, 4.5, 3.5])),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_kernel_offsets_equal_python_layout(name):
    options = dict(MODELS[name])
    model = random_model(options.pop("types", ("Te", "Pb")), seed=3, **options)
    defines = model_build(model, Executor("host", "float64")).define_map
    module = host.compile_source(PROBE, "float64", "layout probe", defines)
    out = np.zeros(13, dtype=np.uint64)
    module.get_function("nep_layout_probe")((1,), (1,), (out,), sizes={"out": 13})
    arch = architecture(model)
    layout = params_layout(arch)
    assert [int(v) for v in out[:10]] == [layout[block][0] for block in BLOCKS]
    assert (int(out[10]), int(out[11]), int(out[12])) == (arch.dim, arch.n_abc, arch.n_invariants)
    assert arch.dim == model.n_descriptor
    # the array the kernels get has exactly that size, every block filled
    params = model_arrays(model, np.dtype(np.float64)).params
    assert params.size == layout["size"][0] and np.all(np.isfinite(params))
