#!/usr/bin/env bash
# One idempotent setup for mala-ts: Debian packages, LAMMPS (ML-SNAP) shared library, npm
# packages, the libtorch addon. Each step is cached; a second run takes seconds.
#   MALA_TS_LAMMPS_LIB=/path/liblammps.so   use your own LAMMPS (needs ML-SNAP) and skip the build
#   MALA_TS_CACHE=DIR                        where builds and downloads are cached (~/.cache/mala-ts)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cache=${MALA_TS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mala-ts}
mkdir -p "$cache"
t0=$(date +%s)
say() { echo "setup: $*"; }

# 1. Debian packages (checked with dpkg; apt runs only when something is missing).
mapfile -t pkgs < <(grep -vE '^\s*(#|$)' scripts/apt-packages.txt)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq || say "apt-get update reported problems (continuing with the lists we have)"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" > "$cache/apt.log" 2>&1 \
    || { tail -n 30 "$cache/apt.log" >&2; say "apt-get install failed (log: $cache/apt.log)"; exit 1; }
else
  say "Debian packages present"
fi

# 2. LAMMPS shared library with ML-SNAP, rebuilt only when the recipe changes.
if [ -n "${MALA_TS_LAMMPS_LIB:-}" ]; then
  say "using your LAMMPS: $MALA_TS_LAMMPS_LIB (build skipped)"
else
  recipe=$(sha256sum scripts/build-lammps.sh | cut -c1-12)
  prefix="$cache/lammps-$recipe"
  if [ ! -f "$prefix/lib/liblammps.so" ]; then
    say "building LAMMPS 4Feb2025 (ML-SNAP, MANYBODY, MPI) into $prefix: about 5 minutes on 2 cores"
    bash scripts/build-lammps.sh "$prefix"
  else
    say "LAMMPS present ($prefix)"
  fi
  ln -sfn "$prefix" "$cache/lammps"
fi

# 3. npm packages, reinstalled only when package-lock.json changes.
lock=$(sha256sum package-lock.json | cut -c1-16)
if [ "$(cat node_modules/.mala-ts-lock 2>/dev/null)" != "$lock" ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock" > node_modules/.mala-ts-lock
else
  say "npm packages present"
fi

# Build the N-API addon in bindings/NAME as build/Release/FILE.node with node-gyp, unless the
# stamp says it was built from the same inputs (its source files plus EXTRA, e.g. the libtorch choice).
build_addon() {
  local name=$1 file=$2 label=$3 extra=$4 dir="bindings/$1" hash
  hash=$( { find "$dir" -maxdepth 1 -type f \( -name '*.gyp' -o -name '*.cc' -o -name '*.h' -o -name '*.js' \) -print0 | sort -z | xargs -0 cat; echo "$extra"; } | sha256sum | cut -c1-16)
  if [ "$(cat "$dir/build/.mala-ts-src" 2>/dev/null)" = "$hash" ] && [ -f "$dir/build/Release/$file.node" ]; then
    say "$label present"
    return
  fi
  say "building the $label"
  local nodedir log="$cache/$name-addon-build.log"
  nodedir=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  (cd "$dir" && npx --no-install node-gyp rebuild --nodedir="$nodedir" --loglevel=error > "$log" 2>&1) \
    || { tail -n 30 "$log" >&2; say "$label build failed (log: $log)"; exit 1; }
  echo "$hash" > "$dir/build/.mala-ts-src"
}

# 4. The libtorch addon; MALA_TS_LIBTORCH (a CUDA PyTorch's torch/ folder) changes what it links.
#    It is the slow one: it builds in the background while the two small addons build beside it.
torch_pid=
if [ -f bindings/torch/binding.gyp ]; then
  build_addon torch mala_torch "libtorch addon" "libtorch=${MALA_TS_LIBTORCH:-debian}" &
  torch_pid=$!
fi

# 5. The MPI addon (for `mpirun -np N mala-ts predict`: collectives and FFTW-MPI for the distributed
#    energy terms). Optional: without mpicc, mala-ts runs serially.
if [ -f bindings/mpi/binding.gyp ]; then
  if command -v "${MPICC:-mpicc}" > /dev/null; then
    build_addon mpi mala_mpi "MPI addon" "mpicc=${MPICC:-mpicc}"
  else
    say "no mpicc: MPI addon skipped (apt-get install libopenmpi-dev libfftw3-mpi-dev for mpirun -np N)"
  fi
fi

# 6. The native bispectrum addon (--descriptor-engine native; no libraries, kernels for AVX-512/AVX2
#    chosen at run time). Optional: without it LAMMPS computes the descriptors.
if [ -f bindings/sna/binding.gyp ]; then
  ( build_addon sna mala_sna "native bispectrum addon" "" ) \
    || say "native bispectrum addon not built: --descriptor-engine native is unavailable, LAMMPS computes descriptors"
fi

[ -z "$torch_pid" ] || wait "$torch_pid" || exit 1

say "done in $(( $(date +%s) - t0 )) s"
