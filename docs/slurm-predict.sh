#!/bin/bash
# Multi-node `mala-ts predict` under Slurm: one MPI rank per core, each with its own blocks of
# x-planes (descriptors through its own serial LAMMPS, network, LDOS → its part of the DOS and
# density). The DOS is summed over ranks; the density moves to FFTW-MPI x-slabs, where all ranks
# compute the energy terms with a distributed FFT and append their slabs to density.cube in turn
# (so the output folder must be on a file system every node sees); rank 0 writes the other outputs.
#
#   sbatch docs/slurm-predict.sh big.extxyz models/al-fcc-298K/model.zip
#
# Ranks beyond the number of blocks idle (a block is whole x-planes, ≥ 4096 points, in small
# cells, and rows of one plane, ≤ --block-points points, in big ones), so small cells want few
# ranks; big cells have thousands of blocks. Memory per rank: one block of descriptors and
# LDOS plus that rank's LDOS until the Fermi level is known (kept in memory when it fits half of
# --memory, otherwise spilled to $TMPDIR); for the energy terms each rank holds its x-slab of the
# density and the FFT work arrays (≈ 100 bytes per grid point of the slab; slabs are whole x-planes,
# so at most nx ranks share that work).
#SBATCH --job-name=mala-ts-predict
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=32
#SBATCH --cpus-per-task=1
#SBATCH --mem-per-cpu=3G
#SBATCH --time=02:00:00
#SBATCH --output=predict-%j.log
set -euo pipefail

structure=${1:?structure file (QE input/output, LAMMPS data, extxyz)}
model=${2:?model archive}
out=${3:-predict-$SLURM_JOB_ID}

# One BLAS/OpenMP thread per rank: ranks already fill the cores, and a fixed thread count keeps
# the float32 network bit-identical across rank counts.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MALA_TS_TORCH_THREADS=1
# Spilled LDOS goes to node-local scratch when the site provides it.
export TMPDIR=${SLURM_TMPDIR:-${TMPDIR:-/tmp}}

cd "${MALA_TS_HOME:-$SLURM_SUBMIT_DIR}"
# srun starts the ranks through PMIx/PMI (mala-ts detects them and joins MPI_COMM_WORLD);
# `mpirun -np $SLURM_NTASKS node bin/mala-ts.js ...` works as well with Open MPI.
srun --mpi=pmix node bin/mala-ts.js predict "$structure" --model "$model" \
  --out "$out" --memory 2500 --json > "$out.json"
echo "results: $out/results.json, density: $out/density.cube, summary: $out.json"
