#!/usr/bin/env bash
# Build LAMMPS 4Feb2025 as a shared library with the packages mala-ts needs, from Debian's
# source tarball (fetched from the machine's configured Debian mirror, verified by sha256).
# Usage: build-lammps.sh PREFIX      (the recipe is this file: editing it triggers a rebuild)
set -euo pipefail
prefix=${1:?usage: build-lammps.sh PREFIX}
version=20250204
tarball=lammps_${version}+dfsg.1.orig.tar.xz
sha256=3671165bd52fad36734e0a9136c5bc5ecb225e03988f8c89aa13366a8b53b1c7
cache=${MALA_TS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mala-ts}
jobs=$(nproc)

# The Debian mirror is whatever apt is configured with (first http(s) URI serving Debian main).
debian_mirror() {
  local uri
  uri=$( (grep -hE '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}';
          grep -hE '^\s*deb\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; break}}') \
        | grep -E '/debian/?$' | grep -v security | head -n 1)
  [ -n "$uri" ] || { echo "build-lammps: no Debian mirror found in the apt configuration" >&2; exit 1; }
  echo "${uri%/}"
}

mkdir -p "$cache/downloads"
if ! echo "$sha256  $cache/downloads/$tarball" | sha256sum -c --quiet - 2>/dev/null; then
  url="$(debian_mirror)/pool/main/l/lammps/$tarball"
  echo "build-lammps: fetching $tarball from the configured Debian mirror"
  curl -fsSL --retry 3 -o "$cache/downloads/$tarball.part" "$url"
  echo "$sha256  $cache/downloads/$tarball.part" | sha256sum -c --quiet - || {
    echo "build-lammps: sha256 mismatch for $tarball" >&2; rm -f "$cache/downloads/$tarball.part"; exit 1; }
  mv "$cache/downloads/$tarball.part" "$cache/downloads/$tarball"
fi

work=$(mktemp -d "$cache/lammps-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xJf "$cache/downloads/$tarball" -C "$work"
src=$(find "$work" -maxdepth 2 -name cmake -type d | head -n 1)
[ -n "$src" ] || { echo "build-lammps: no cmake/ folder in $tarball" >&2; exit 1; }

# ML-SNAP: sna/grid descriptors. MANYBODY: EAM for MD snapshots. MPI: sna/grid/local across ranks.
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix.part" \
  -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_INSTALL_RPATH='$ORIGIN/../lib' \
  -DBUILD_SHARED_LIBS=on -DBUILD_MPI=on -DBUILD_OMP=on -DLAMMPS_EXCEPTIONS=on \
  -DPKG_ML-SNAP=on -DPKG_MANYBODY=on -DPKG_EXTRA-COMPUTE=off \
  -DWITH_JPEG=off -DWITH_PNG=off -DWITH_FFMPEG=off -DWITH_GZIP=off -DBUILD_TOOLS=off \
  -DDOWNLOAD_POTENTIALS=off > "$work/cmake.log" 2>&1 || { tail -n 40 "$work/cmake.log" >&2; exit 1; }
cmake --build "$work/build" -j "$jobs" > "$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
rm -rf "$prefix.part"
cmake --install "$work/build" > /dev/null
# (cmake --install also installs the distribution's potentials, e.g. EAM aluminium, under share/lammps/potentials.)
rm -rf "$prefix"
mv "$prefix.part" "$prefix"
echo "build-lammps: installed to $prefix"
