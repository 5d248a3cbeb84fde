/**
 * pw.x's collected wavefunctions, `<prefix>.save/wfcK.dat` (QE 6.x, io_base.f90 `write_wfc`, no
 * HDF5): Fortran unformatted sequential records with 4-byte length markers:
 *   ik, xk(3), ispin, gamma_only, scalef  |  ngw, igwx, npol, nbnd  |  b1, b2, b3  |  mill(3, igwx)
 *   then one record per band: evc(npol·igwx) complex double.
 * A format module only: no physics.
 */
import * as fs from 'node:fs';
import { MalaError } from '../errors';

export interface QeWavefunctions {
  /** 1-based k-point index as pw.x numbered it. */
  k: number;
  /** k in 2π/alat (pw.x's cartesian units). */
  xk: [number, number, number];
  gammaOnly: boolean;
  scaleFactor: number;
  /** spinor components (1, or 2 for noncollinear). */
  npol: number;
  nbnd: number;
  /** plane waves of this k-point */
  igwx: number;
  /** Miller indices of each plane wave's G, (m1, m2, m3) per plane wave. */
  miller: Int32Array;
  /** band n's coefficients, interleaved (re, im), npol·igwx complex values. */
  band: (n: number) => Float64Array;
}

/** Read one wfcK.dat whole (a few MB for the cells mala-ts trains on). */
export function readQeWavefunctions(file: string): QeWavefunctions {
  const fix = 'rerun pw.x (the file is incomplete, or pw.x was built with HDF5 or wrote another format)';
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new MalaError(`cannot read the wavefunction file: ${(e as Error).message}`, { file, fix, cause: e });
  }
  let at = 0;
  const record = (what: string): { start: number; bytes: number } => {
    if (at + 4 > buf.length) throw new MalaError(`wavefunction file ends before its ${what}`, { file, fix });
    const bytes = buf.readInt32LE(at);
    const start = at + 4;
    if (bytes < 0 || start + bytes + 4 > buf.length || buf.readInt32LE(start + bytes) !== bytes) throw new MalaError(`wavefunction file: bad Fortran record around its ${what}`, { file, fix });
    at = start + bytes + 4;
    return { start, bytes };
  };
  const head = record('header');
  if (head.bytes !== 4 + 24 + 4 + 4 + 8) throw new MalaError(`wavefunction file: header of ${head.bytes} bytes, expected 44`, { file, fix });
  const k = buf.readInt32LE(head.start);
  const xk: [number, number, number] = [buf.readDoubleLE(head.start + 4), buf.readDoubleLE(head.start + 12), buf.readDoubleLE(head.start + 20)];
  const gammaOnly = buf.readInt32LE(head.start + 32) !== 0;
  const scaleFactor = buf.readDoubleLE(head.start + 36);
  const sizes = record('sizes');
  if (sizes.bytes !== 16) throw new MalaError('wavefunction file: sizes record is not 4 integers', { file, fix });
  const igwx = buf.readInt32LE(sizes.start + 4);
  const npol = buf.readInt32LE(sizes.start + 8);
  const nbnd = buf.readInt32LE(sizes.start + 12);
  record('reciprocal vectors');
  const mill = record('Miller indices');
  if (mill.bytes !== 12 * igwx) throw new MalaError(`wavefunction file: ${mill.bytes / 12} Miller indices for ${igwx} plane waves`, { file, fix });
  // copied: Buffer offsets need not be 4-byte aligned
  const miller = new Int32Array(igwx * 3);
  for (let i = 0; i < igwx * 3; i++) miller[i] = buf.readInt32LE(mill.start + 4 * i);
  const bands: { start: number; bytes: number }[] = [];
  for (let n = 0; n < nbnd; n++) {
    const r = record(`band ${n + 1}`);
    if (r.bytes !== 16 * npol * igwx) throw new MalaError(`wavefunction file: band ${n + 1} has ${r.bytes / 16} coefficients, expected ${npol * igwx}`, { file, fix });
    bands.push(r);
  }
  return {
    k, xk, gammaOnly, scaleFactor, npol, nbnd, igwx, miller,
    band: (n) => {
      const r = bands[n];
      const out = new Float64Array(r.bytes / 8);
      for (let i = 0; i < out.length; i++) out[i] = buf.readDoubleLE(r.start + 8 * i);
      return out;
    },
  };
}
