#!/usr/bin/env bash
# The GPU check of issue 17 in one run: build the libtorch addon against the machine's CUDA
# PyTorch, run the addon's tests on CUDA, benchmark the network on CPU and GPU, and compare one
# predict of the Al example on both. Everything lands in $OUT (default out/gpu-check):
#   gpu-check.log, steps.json, report.md/report.json (scripts/gpu-report.js), addon-info.json,
#   torch-python.json, nvidia-smi.txt, bench-cpu.json, bench-cuda.json, bench-*-inference-mode.json,
#   gpu-peak.json (scripts/gpu-peak.py), predict-al4-{cpu,cuda}.json, predict-compare.json, test-*.log,
#   predict-supercell-{cpu,cuda}.json, predict-supercell-compare.json (step 7)
#
# On the device machine (CUDA PyTorch in python3, g++, no network, maybe no Node.js): make the
# carry here first (bash scripts/gpu-carry.sh → .cache/gpu-carry.tar.xz, < 64 MiB) and pass it:
#   run(command="bash scripts/gpu-check.sh", carry=[".cache/gpu-carry.tar.xz"], timeout_s=600)
# It unpacks Node, the npm packages, the Al descriptors and FFTW/libxc from it where the machine
# lacks them. The whole run is budgeted to about 8 minutes (each step has its own time limit).
#
# Without a GPU (no nvidia-smi, or python3's torch sees no CUDA device) the CPU steps run (addon
# tests, CPU benchmark, predict compared against the plain-TS backend as a dry run of the
# comparison) and every GPU step is reported as SKIPPED; the last line then reads
# "gpu-check: SKIPPED (no GPU: <why>)" and the exit status is 2.
# Exit status: 0 = every step passed on a GPU; 2 = no GPU, CPU steps passed; 1 = a step failed;
# 3 = steps left out because the run's time budget ($GPU_CHECK_BUDGET_S, default 570 s) ran out.
# Knobs: GPU_CHECK_BUILD=1 builds the addon even without a GPU (against $MALA_TS_LIBTORCH or
# python3's torch); GPU_CHECK_QUICK=1 uses small batches (a dry run in about a minute here).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/out/gpu-check}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-check.log") 2>&1
CARRY=${GPU_CARRY:-$ROOT/.cache/gpu-carry.tar.xz}
WORK=${GPU_WORK:-/tmp/mala-ts-gpu}
QUICK=${GPU_CHECK_QUICK:-0}
STEPS_JSON=""
FAILED=0
OVER_BUDGET=""

record() { # name status seconds note
  echo "== $1: $2 ($3 s)${4:+ — $4}"
  STEPS_JSON+="${STEPS_JSON:+,}{\"name\":\"$1\",\"status\":\"$2\",\"seconds\":$3,\"note\":\"${4//\"/\'}\"}"
  [ "$2" = FAILED ] && FAILED=1
  return 0
}
BUDGET_S=${GPU_CHECK_BUDGET_S:-570} # the device tool stops a command at 600 s; finish() needs a few
step() { # name time-limit command...: run it, cut at its limit and at the run's budget
  local name=$1 limit=$2 t0=$SECONDS rc left=$((BUDGET_S - SECONDS))
  shift 2
  if [ $left -lt 15 ]; then record "$name" SKIPPED 0 "over the run's ${BUDGET_S} s budget"; OVER_BUDGET+=" $name"; return 3; fi
  [ "$limit" -gt $left ] && limit=$left
  echo "== $name: $*"
  timeout "$limit" "$@"
  rc=$?
  if [ $rc -eq 0 ]; then record "$name" ok $((SECONDS - t0)) ""; else record "$name" FAILED $((SECONDS - t0)) "exit $rc$([ $rc -eq 124 ] && echo ", over its ${limit} s")"; fi
  return $rc
}
skip() { record "$1" SKIPPED 0 "$2"; }
finish() {
  echo "[$STEPS_JSON]" > "$OUT/steps.json"
  command -v node >/dev/null && node scripts/gpu-report.js "$OUT" > /dev/null 2>&1
  echo "gpu-check: results in $OUT (report.md), $SECONDS s"
  if [ $FAILED = 1 ]; then echo "gpu-check: FAILED (see steps.json)"; exit 1; fi
  if [ "$GPU" = 0 ]; then echo "gpu-check: SKIPPED (no GPU: $GPU_WHY); the CPU steps passed"; exit 2; fi
  if [ -n "$OVER_BUDGET" ]; then echo "gpu-check: INCOMPLETE (out of time before:$OVER_BUDGET)"; exit 3; fi
  echo "gpu-check: OK"
  exit 0
}
GPU=0
GPU_WHY="not checked"

# 1. The carry: Node, npm packages, data, libraries (only what this machine lacks).
if [ -f "$CARRY" ]; then
  mkdir -p "$WORK"
  if command -v xz >/dev/null; then
    step unpack-carry 120 tar -xJf "$CARRY" -C "$WORK"
  else # no xz-utils: Python's tarfile reads .tar.xz too
    step unpack-carry 180 python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$CARRY" "$WORK"
  fi
  cat "$WORK/CARRY"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  if [ -x "$WORK/node/bin/node" ]; then export PATH="$WORK/node/bin:$PATH"; else record node FAILED 0 "no Node.js ≥ 20 and no carried one (bash scripts/gpu-carry.sh, carry .cache/gpu-carry.tar.xz)"; finish; fi
fi
echo "node $(node --version) at $(command -v node)"
if [ ! -e node_modules/tsx/package.json ]; then
  if [ -d "$WORK/node_modules" ] && { [ -L node_modules ] || [ ! -e node_modules ]; }; then
    rm -f node_modules && ln -s "$WORK/node_modules" node_modules
  else
    record node_modules FAILED 0 "no node_modules with tsx (make setup here, or carry .cache/gpu-carry.tar.xz)"; finish
  fi
fi
DATA=$WORK/data
[ -d "$DATA/reference" ] && [ ! -d "$ROOT/../shared/reference/be2" ] && export MALA_TS_REFERENCE=$DATA/reference
for l in libfftw3.so.3:MALA_TS_FFTW_LIB libxc.so.9:MALA_TS_LIBXC_LIB; do
  so=${l%%:*} var=${l##*:}
  if ! ldconfig -p 2>/dev/null | grep -q "$so" && [ -f "$WORK/lib/$so" ]; then export "$var=$WORK/lib/$so"; echo "$var=$WORK/lib/$so"; fi
done

# 2. Is there a GPU?
if ! command -v nvidia-smi >/dev/null; then
  GPU_WHY="nvidia-smi not found"
elif ! nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1; then
  GPU_WHY="nvidia-smi failed: $(head -1 "$OUT/nvidia-smi.txt")"
elif ! python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() and torch.cuda.device_count() > 0 else 1)' 2>/dev/null; then
  GPU_WHY="python3's torch is missing, has no CUDA, or sees no device"
else
  GPU=1
  GPU_WHY=""
fi
python3 - > "$OUT/torch-python.json" 2>/dev/null <<'EOF' || echo '{"torch": null}' > "$OUT/torch-python.json"
import json, os, torch
d = {'torch': torch.__version__, 'cuda': torch.version.cuda, 'dir': os.path.dirname(torch.__file__), 'cmake_prefix_path': torch.utils.cmake_prefix_path, 'cuda_available': torch.cuda.is_available()}
if d['cuda_available']: d['device'] = torch.cuda.get_device_name(0)
print(json.dumps(d))
EOF
echo "GPU: $([ $GPU = 1 ] && head -1 "$OUT/nvidia-smi.txt" || echo "none ($GPU_WHY)")"

# 3. The addon against python3's (CUDA) libtorch, with g++ directly (node-gyp would want the network for headers).
build_addon() {
  local node_inc naa dest=$WORK/addon/mala_torch.node
  node_inc=$WORK/node/include/node
  [ -f "$node_inc/node_api.h" ] || node_inc=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node
  naa=$(node -p "require('path').dirname(require.resolve('node-addon-api/package.json'))")
  mkdir -p "$WORK/addon"
  # shellcheck disable=SC2046
  g++ -shared -fPIC -pthread -std=c++17 -O3 -fexceptions -frtti -Wno-unused-parameter -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DBUILDING_NODE_EXTENSION \
    -I"$node_inc" -I"$naa" $(node bindings/torch/torch-config.js include | tr ' ' '\n' | sed 's/^/-I/') $(node bindings/torch/torch-config.js cflags) \
    bindings/torch/mala_torch.cc -o "$dest" $(node bindings/torch/torch-config.js libs)
}
if [ $GPU = 1 ] || [ "${GPU_CHECK_BUILD:-0}" = 1 ]; then
  # python3's torch (the CUDA one on the device machine) unless MALA_TS_LIBTORCH says otherwise;
  # neither: Debian's CPU libtorch (torch-config.js's default), which dry-runs this command here.
  if [ -z "${MALA_TS_LIBTORCH:-}" ] && t=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null); then export MALA_TS_LIBTORCH=$t; fi
  # the C++ ABI as python3's torch reports it (TorchConfig.cmake is the fallback in torch-config.js)
  if [ -z "${MALA_TS_TORCH_CXX11_ABI:-}" ] && a=$(python3 -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))' 2>/dev/null); then export MALA_TS_TORCH_CXX11_ABI=$a; fi
  echo "libtorch: ${MALA_TS_LIBTORCH:-Debian (/usr)} (C++11 ABI ${MALA_TS_TORCH_CXX11_ABI:-from TorchConfig.cmake})"
  export -f build_addon
  export WORK
  if step build-addon 300 bash -c build_addon; then
    export MALA_TS_TORCH_ADDON=$WORK/addon/mala_torch.node
  else
    finish
  fi
else
  skip build-addon "no GPU: this checkout's addon (bindings/torch/build) is used"
fi
node -e "const a = require(process.env.MALA_TS_TORCH_ADDON || './bindings/torch/build/Release/mala_torch.node'); console.log(JSON.stringify(a.info()))" > "$OUT/addon-info.json" && cat "$OUT/addon-info.json"

# 4. The addon's tests: CPU always; with a GPU the shared backend suite runs on CUDA and the device tests' CUDA part runs.
step test-addon 180 env MALA_TS_DEVICE= node node_modules/mocha/bin/mocha.js test/bindings/torch.test.ts test/network/device.test.ts > "$OUT/test-addon.log" 2>&1
grep -E "^== |SKIPPED|passing|failing|pending" "$OUT/test-addon.log"
if [ $GPU = 1 ]; then
  step test-backend-suite-cuda 120 env MALA_TS_DEVICE=cuda node node_modules/mocha/bin/mocha.js test/network/backends.test.ts --grep '\[torch\]' > "$OUT/test-backend-suite-cuda.log" 2>&1
  grep -E "^== |SKIPPED|passing|failing|pending" "$OUT/test-backend-suite-cuda.log"
else
  skip test-backend-suite-cuda "no GPU"
fi

# 5. Benchmarks: the addon on CPU (all cores) and GPU; PyTorch's own GPU figures and the sgemm peak.
if [ "$QUICK" = 1 ]; then BATCHES=8192,65536; REPS=2; else BATCHES=8192,65536,262144,1048576; REPS=5; fi
step bench-cpu 150 env MALA_TS_TORCH_THREADS="$(nproc)" node node_modules/tsx/dist/cli.mjs bench/network-device.ts --device cpu --batches "$BATCHES" --reps "$REPS" --out "$OUT/bench-cpu.json"
if [ $GPU = 1 ]; then
  step bench-cuda 120 node node_modules/tsx/dist/cli.mjs bench/network-device.ts --device cuda --batches "$BATCHES" --reps "$REPS" --out "$OUT/bench-cuda.json"
  step gpu-peak 90 bash -c 'python3 scripts/gpu-peak.py "$1" > "$2"' _ "$BATCHES" "$OUT/gpu-peak.json"
  # NoGradGuard (default) against InferenceMode (ARCHITECTURE.md: measure both), both devices, one batch size
  for d in cpu cuda; do
    step "bench-$d-inference-mode" 60 env MALA_TS_INFERENCE_MODE=1 MALA_TS_TORCH_THREADS="$(nproc)" node node_modules/tsx/dist/cli.mjs bench/network-device.ts --device $d --batches 65536 --reps 3 --train-batches 1000 --out "$OUT/bench-$d-inference-mode.json"
  done
else
  skip bench-cuda "no GPU"
  skip gpu-peak "no GPU"
fi

# 6. predict of the Al example (4 atoms, 24³ grid, carried descriptors) on CPU and GPU; compare E_F, E_band, E_total.
AL_DESC=$DATA/al4.in.npy
[ -f "$AL_DESC" ] || { AL_DESC=$OUT/al4.in.npy; step al4-descriptors 120 node bin/mala-ts.js descriptors examples/al4-298K.pw.scf.in -o "$AL_DESC"; }
PSEUDO=$DATA/pseudo
[ -f "$PSEUDO/Al.pz-vbc.UPF" ] || PSEUDO=/usr/share/espresso/pseudo
# predict JSON-FILE ARGS...: one predict of the example, its JSON into the file
predict() {
  local json=$1
  shift
  node bin/mala-ts.js predict examples/al4-298K.pw.scf.in --model models/al-fcc-298K/model.zip --descriptors "$AL_DESC" --pseudo-dir "$PSEUDO" --json "$@" > "$json"
}
export -f predict
export AL_DESC PSEUDO
step predict-cpu 90 bash -c 'predict "$@"' _ "$OUT/predict-al4-cpu.json" --device cpu --out "$OUT/al4-cpu" --ldos
if [ $GPU = 1 ]; then
  step predict-cuda 90 bash -c 'predict "$@"' _ "$OUT/predict-al4-cuda.json" --device cuda --out "$OUT/al4-cuda" --ldos
  step predict-compare 20 bash -c 'node scripts/gpu-compare.js "$1" "$2" ${4:+"$4" "$5"} > "$3"' _ "$OUT/predict-al4-cpu.json" "$OUT/predict-al4-cuda.json" "$OUT/predict-compare.json" "$OUT/al4-cpu/ldos.npy" "$OUT/al4-cuda/ldos.npy"
else
  skip predict-cuda "no GPU"
  # a dry run of the comparison: the plain-TS network is another float32 summation order
  step predict-ts 120 bash -c 'predict "$@"' _ "$OUT/predict-al4-ts.json" --backend ts --out "$OUT/al4-ts" --ldos
  step predict-compare-dry-run 20 bash -c 'node scripts/gpu-compare.js "$1" "$2" ${4:+"$4" "$5"} > "$3"' _ "$OUT/predict-al4-cpu.json" "$OUT/predict-al4-ts.json" "$OUT/predict-compare.json" "$OUT/al4-cpu/ldos.npy" "$OUT/al4-ts/ldos.npy"
fi
cat "$OUT/predict-compare.json" 2>/dev/null | head -40
# the network alone on both devices, value by value (scripts/gpu-agreement.ts)
if [ $GPU = 1 ]; then
  step network-agreement 60 bash -c 'node node_modules/tsx/dist/cli.mjs scripts/gpu-agreement.ts "$1" models/al-fcc-298K/model.zip cpu cuda > "$2"' _ "$AL_DESC" "$OUT/network-agreement.json"
  cat "$OUT/network-agreement.json"
fi

# 7. The same on an n×n×n supercell (default 4: 256 atoms, 96³ = 884,736 grid points), whose
# descriptors are the Al example's tiled (bench/tile-supercell.ts; equal to LAMMPS' to float32
# rounding): the end-to-end split at a size where the network matters.
N=${GPU_CHECK_SUPERCELL:-4}
[ "$QUICK" = 1 ] && N=2
SC=$WORK/supercell-$N
step tile-supercell 60 node node_modules/tsx/dist/cli.mjs bench/tile-supercell.ts --input examples/al4-298K.pw.scf.in --descriptors "$AL_DESC" --n "$N" --out "$SC"
G=$((24 * N)),$((24 * N)),$((24 * N))
scpredict() { # JSON-FILE ARGS...
  local json=$1
  shift
  node bin/mala-ts.js predict "$SC/supercell.pw.scf.in" --model models/al-fcc-298K/model.zip --descriptors "$SC/supercell.in.npy" --grid "$G" --pseudo-dir "$PSEUDO" --json "$@" > "$json"
}
export -f scpredict
export SC G
step predict-supercell-cpu 150 bash -c 'scpredict "$@"' _ "$OUT/predict-supercell-cpu.json" --device cpu
if [ $GPU = 1 ]; then
  step predict-supercell-cuda 120 bash -c 'scpredict "$@"' _ "$OUT/predict-supercell-cuda.json" --device cuda
  step predict-supercell-compare 20 bash -c 'node scripts/gpu-compare.js "$1" "$2" ${4:+"$4" "$5"} > "$3"' _ "$OUT/predict-supercell-cpu.json" "$OUT/predict-supercell-cuda.json" "$OUT/predict-supercell-compare.json"
  head -20 "$OUT/predict-supercell-compare.json"
fi
finish
