#!/usr/bin/env bash
# CI: the npm package as a user gets it. `npm pack` (which builds dist/), then in an empty
# temporary project: install the tarball (its install step builds the addons when libtorch /
# mpicc are present), `require('mala-ts')` from plain JS, `import` from TypeScript with the
# shipped typings (tsc --noEmit), `mala-ts doctor`, and the installed bin predicting the small
# bundled example (4 Al atoms) with the shipped model.
#   MALA_TS_PACK_CHECK_KEEP=1   keep the temporary project (its path is printed)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
t0=$(date +%s)
say() { echo "pack-check: $*"; }
fail() { say "FAILED: $*" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/mala-ts-pack-check.XXXXXX")
if [ -n "${MALA_TS_PACK_CHECK_KEEP:-}" ]; then say "keeping $work"; else trap 'rm -rf "$work"' EXIT; fi

# 1. The tarball: built JS and typings in, tests and checkout-only files out.
tarball=$(npm pack --pack-destination "$work" --loglevel=error | tail -n 1)
tarball="$work/$tarball"
[ -f "$tarball" ] || fail "npm pack wrote no tarball"
tar tzf "$tarball" > "$work/contents.txt"
for f in package/dist/src/index.js package/dist/src/index.d.ts package/dist/src/cli/main.js package/bin/mala-ts.js \
  package/bindings/torch/binding.gyp package/scripts/install-addons.js package/models/al-fcc-298K/model.zip \
  package/lammps-inputs/bispectrum-grid.in package/examples/al4-298K.pw.scf.in; do
  grep -qx "$f" "$work/contents.txt" || fail "$f is not in the tarball"
done
if grep -E '^package/(src|test|fixtures|bench|docs|mk|\.ci)/|^package/dist/test/|\.tsbuildinfo$|/build/' "$work/contents.txt"; then
  fail "the tarball ships files a user does not need (above)"
fi
say "tarball $(du -k "$tarball" | cut -f1) kB, $(wc -l < "$work/contents.txt") files ($(( $(date +%s) - t0 )) s)"

# 2. Install it into an empty project (npm's cache from `make setup` serves the dependencies).
proj="$work/project"
mkdir -p "$proj"
cd "$proj"
echo '{ "name": "mala-ts-pack-check", "private": true }' > package.json
t1=$(date +%s)
npm install --no-audit --no-fund --prefer-offline --foreground-scripts --loglevel=error "$tarball" 2>&1 | tee "$work/install.log" | grep '^mala-ts:' || true
grep -Eq '^mala-ts: (built the libtorch addon|libtorch addon not built|MALA_TS_SKIP_ADDONS)' "$work/install.log" || fail "the install step said nothing about the libtorch addon (log: $work/install.log)"
pkg="$proj/node_modules/mala-ts"
[ -d "$pkg" ] || fail "npm install did not install mala-ts"
say "installed in $(( $(date +%s) - t1 )) s"

# 3. Plain JS: require() and a few real calls on the shipped files.
cat > check.js <<'EOF'
const assert = require('node:assert/strict');
const path = require('node:path');
const mala = require('mala-ts');
const pkg = path.dirname(require.resolve('mala-ts/package.json'));
const read = mala.readStructure(path.join(pkg, 'examples', 'al4-298K.pw.scf.in'));
assert.equal(read.atoms.positionsAngstrom.length, 4);
assert.ok(Math.abs(mala.cellVolumeA3(read.atoms.cellAngstrom) - 4.05 ** 3) < 1e-9);
assert.deepEqual(mala.qeFftGrid(read.atoms.cellAngstrom, 80), [24, 24, 24]);
const model = mala.loadModel(path.join(pkg, 'models', 'al-fcc-298K', 'model.zip'), { backend: 'ts' });
assert.equal(model.nFeatures, 91);
assert.equal(model.nEnergies, 131);
assert.throws(() => mala.readStructure(path.join(pkg, 'nope.xyz')), (e) => mala.isMalaError(e));
console.log('require: ok');
EOF
node check.js || fail "require('mala-ts') from plain JS"

# 4. TypeScript: the typings compile against a strict program (typescript and @types/node from the checkout).
cat > check.ts <<'EOF'
import { readStructure, cellVolumeA3, qeFftGrid, loadModel, MalaError, type Atoms, type GridShape, type PredictOptions } from 'mala-ts';
const atoms: Atoms = readStructure('x.pw.scf.in').atoms;
const volumeA3: number = cellVolumeA3(atoms.cellAngstrom);
const grid: GridShape = qeFftGrid(atoms.cellAngstrom, 80);
const nEnergies: number = loadModel('model.zip').nEnergies;
const opts: Partial<PredictOptions> = {};
// @ts-expect-error: the typings are real, so a wrong argument type is an error
cellVolumeA3('not a cell');
export const used = [volumeA3, grid, nEnergies, opts, MalaError];
EOF
cat > tsconfig.json <<EOF
{ "compilerOptions": { "strict": true, "noEmit": true, "module": "commonjs", "moduleResolution": "node", "target": "ES2022",
  "esModuleInterop": true, "skipLibCheck": false, "types": ["node"], "typeRoots": ["$root/node_modules/@types"] }, "files": ["check.ts"] }
EOF
"$root/node_modules/.bin/tsc" -p tsconfig.json || fail "import from TypeScript with the shipped typings"
say "import from TS: ok"

# 5. The installed bin: doctor names the backend; predict the 4-atom example with the shipped model.
bin="$proj/node_modules/.bin/mala-ts"
"$bin" --version
"$bin" doctor --json > "$work/doctor.json" || true # exit 1 when LAMMPS etc. are missing; the backend line is what we check
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const b = r.checks.find((c) => c.component === "NN backend");
  if (!b || !b.ok) { console.error("doctor names no NN backend:", JSON.stringify(b)); process.exit(1); }
  const built = require("fs").existsSync(process.argv[2]);
  if (built !== /^torch/.test(b.detail)) { console.error(`libtorch addon ${built ? "built" : "absent"} but doctor says: ${b.detail}`); process.exit(1); }
  console.log(`pack-check: doctor: NN backend ${b.detail}`);
' "$work/doctor.json" "$pkg/bindings/torch/build/Release/mala_torch.node" || fail "mala-ts doctor"
t2=$(date +%s)
"$bin" predict "$pkg/examples/al4-298K.pw.scf.in" --model "$pkg/models/al-fcc-298K/model.zip" --out "$work/predict" > "$work/predict.log" 2>&1 \
  || { tail -n 20 "$work/predict.log" >&2; fail "mala-ts predict on the bundled example"; }
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const k of ["total_energy_ev", "band_energy_ev", "fermi_energy_ev"]) {
    if (!Number.isFinite(r[k])) { console.error(`results.json: ${k} = ${r[k]}`); process.exit(1); }
  }
  console.log(`pack-check: predict: total energy ${r.total_energy_ev.toFixed(4)} eV, band energy ${r.band_energy_ev.toFixed(4)} eV`);
' "$work/predict/results.json" || fail "results.json of the bundled example"
say "predict in $(( $(date +%s) - t2 )) s"
say "passed in $(( $(date +%s) - t0 )) s"
