#!/usr/bin/env bash
# The main job on the bundled example: predict the electronic structure of a 108-atom aluminium
# cell (larger than the 8- and 16-atom cells the broad model was trained on) and show the results.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${DEMO_OUT:-demo-out}
node bin/mala-ts.js doctor
echo
echo "== mala-ts predict examples/al108-298K.pw.scf.in (108 Al atoms, model models/al-fcc-broad: an ensemble of 3, with σ) =="
# Both cores: the MPI path (one rank per core) when the MPI addon is built, else one process.
np=$(nproc); [ -f bindings/mpi/build/Release/mala_mpi.node ] && [ "$np" -gt 1 ] && ranks=(--np "$np") || ranks=()
node bin/mala-ts.js predict examples/al108-298K.pw.scf.in --model models/al-fcc-broad/model.zip --out "$out" "${ranks[@]}"
echo
echo "Results: $out/results.json (JSON), $out/dos.svg (DOS plot), $out/density.cube (electron density), $out/dos.csv"
