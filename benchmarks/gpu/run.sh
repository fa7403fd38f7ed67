#!/usr/bin/env bash
# The one GPU check: install from carried wheels, the cuda tests against host, gpunep doctor,
# speed against host and nep-adapters' CUDA backend, compute-sanitizer; results into OUT.
#   bash benchmarks/gpu/run.sh OUT [--dry-run]
# Reads the folder benchmarks/gpu/prepare.sh made ($GPUNEP_CARRY, default .gpu). Sizes:
# GPUNEP_GPU_SIZES (default 1000,10000,100000,1000000), GPUNEP_GPU_FRAMES (10000),
# GPUNEP_GPU_SECONDS (1.5 s of timing per method and case). --dry-run runs every step but
# the GPU parts with this machine's Python: the wheels are installed for Python 3.12 into a
# scratch folder (proving the set is complete), the GPU tests are collected and skip, the
# stand-in tests run, and the benchmark times gpunep host and nep-adapters' CPU backend.
set -uo pipefail
OUT="${1:?usage: run.sh OUT [--dry-run]}"
DRY=0; [ "${2:-}" = "--dry-run" ] && DRY=1
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CARRY="${GPUNEP_CARRY:-$ROOT/.gpu}"
SIZES="${GPUNEP_GPU_SIZES:-1000,10000,100000,1000000}"
FRAMES="${GPUNEP_GPU_FRAMES:-10000}"
SECONDS_PER="${GPUNEP_GPU_SECONDS:-1.5}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"; cd "$ROOT"
SUMMARY="$OUT/summary.md"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"
STEPS=()

step() {  # step NAME LOG TIMEOUT COMMAND...: run, keep its output and exit status
  local name="$1" log="$2" limit="$3"; shift 3
  echo "== $name: $*" >>"$log"
  local tic=$SECONDS
  timeout "$limit" "$@" >>"$log" 2>&1
  local rc=$?
  STEPS+=("| $name | exit $rc$([ $rc = 124 ] && echo ' (time limit)'), $((SECONDS - tic)) s |")
  echo "== $name: exit $rc, $((SECONDS - tic)) s" | tee -a "$log"
  tail -n 3 "$log" | head -n 2
}

[ -d "$CARRY/wheels" ] && [ -d "$CARRY/models" ] || { echo "no $CARRY: run benchmarks/gpu/prepare.sh first"; exit 2; }
SITE="$(mktemp -d)/site"
if [ $DRY = 1 ]; then
  step install "$OUT/pytest.log" 300 "$PYTHON" -m pip install -q --no-index --no-deps --no-compile \
    --only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_27_x86_64 --platform manylinux2014_x86_64 --target "$SITE" "$CARRY"/wheels/*.whl
else
  step install "$OUT/pytest.log" 300 bash -c "'$PYTHON' -m pip install -q --no-index --no-deps --no-compile \
    --target '$SITE' '$CARRY'/wheels/*.whl && '$PYTHON' -m pip install -q --no-index --no-deps \
    --no-build-isolation --no-compile --target '$SITE' '$ROOT'"
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
# the tests find the models at ../shared/models, as in a developer's checkout
[ -e "$ROOT/../shared/models" ] || { mkdir -p "$ROOT/../shared" && ln -s "$CARRY/models" "$ROOT/../shared/models"; }

{ echo "# gpunep GPU run $(date -u +%Y-%m-%dT%H:%MZ)"; echo
  echo "commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), dry run: $DRY"; echo
  echo '```'
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || echo "no nvidia-smi"
  "$PYTHON" -P -c "import sys, numpy; print('python', sys.version.split()[0], 'numpy', numpy.__version__)
try:
    import cupy; print('cupy', cupy.__version__, 'CUDA runtime', cupy.cuda.runtime.runtimeGetVersion())
except Exception as exc: print('cupy:', exc)"
  echo '```'; } >"$SUMMARY"

# -P: import gpunep from the installation, not from the checkout (whose kernels/ is not a package)
step doctor "$OUT/doctor.log" 120 "$PYTHON" -P -m gpunep.cli doctor
step resources "$OUT/doctor.log" 180 "$PYTHON" -P -m gpunep.cli doctor --resources \
  "$CARRY/models/nep89/nep89.txt" --arch sm_90 --precision float32
PARALLEL=(); "$PYTHON" -P -c "import xdist" 2>/dev/null && PARALLEL=(-n 8)
step gpu-tests "$OUT/pytest.log" 360 "$PYTHON" -P -m pytest -q -rs -m gpu "${PARALLEL[@]}" -p no:cacheprovider \
  tests/backends/test_cuda_gpu.py
[ $DRY = 1 ] && step standin-tests "$OUT/pytest.log" 600 "$PYTHON" -P -m pytest -q -p no:cacheprovider \
  tests/backends/test_cuda_standin.py tests/backends/test_cuda_selection.py tests/test_testing.py
BENCH=(--models "$CARRY/models" --out "$OUT" --sizes "$SIZES" --frames "$FRAMES" --seconds "$SECONDS_PER")
[ $DRY = 1 ] && BENCH+=(--dry-run)
step bench "$OUT/bench.log" 420 "$PYTHON" -P benchmarks/gpu/bench_gpu.py "${BENCH[@]}"
if [ $DRY = 0 ] && command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck; do
    step "sanitizer-$tool" "$OUT/sanitizer.log" 180 compute-sanitizer --tool "$tool" --error-exitcode 3 \
      "$PYTHON" -P benchmarks/gpu/sanitize.py
  done
fi

{ echo; echo "| step | result |"; echo "|---|---|"
  printf '%s\n' "${STEPS[@]}"
  echo; [ -f "$OUT/gpu_bench.md" ] && cat "$OUT/gpu_bench.md"; } >>"$SUMMARY"
cat "$SUMMARY"
