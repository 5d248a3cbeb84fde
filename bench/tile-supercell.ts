/**
 * An n×n×n supercell of a periodic pw.x input and its descriptors, without computing any: a grid
 * point's bispectrum depends only on the atoms within the cutoff, periodically, so the descriptors
 * of the supercell on the n-times grid are the cell's descriptors tiled n times along each axis.
 * Used by scripts/gpu-check.sh to time predict at ~10⁶ grid points on a machine without LAMMPS.
 *
 *   npx tsx bench/tile-supercell.ts --input examples/al4-298K.pw.scf.in --descriptors al4.in.npy --n 4 --out DIR
 *   → DIR/supercell.pw.scf.in (nat·n³ atoms, cell·n) and DIR/supercell.in.npy ((n·nx, n·ny, n·nz, F))
 *
 * The input must give CELL_PARAMETERS and ATOMIC_POSITIONS in angstrom (as `mala-ts sample` writes).
 */
import * as fs from 'fs';
import * as path from 'path';
import { NpyFile, NpyStreamWriter } from '../src/io/npy';

function usage(): never {
  console.log('usage: npx tsx bench/tile-supercell.ts --input PW.in --descriptors D.npy --n N --out DIR');
  process.exit(0);
}

function parseArgs(argv: string[]): { input: string; descriptors: string; n: number; out: string } {
  const get = (k: string): string | undefined => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (argv.includes('--help') || argv.includes('-h')) usage();
  const input = get('--input');
  const descriptors = get('--descriptors');
  const out = get('--out');
  const n = Number(get('--n') ?? '2');
  if (!input || !descriptors || !out || !Number.isInteger(n) || n < 1) {
    console.error('tile-supercell: --input, --descriptors, --out and an integer --n ≥ 1 are needed (--help)');
    process.exit(2);
  }
  return { input, descriptors, n, out };
}

/** The pw.x input with nat, CELL_PARAMETERS and ATOMIC_POSITIONS replaced by the n×n×n supercell. */
export function tilePwInput(text: string, n: number): string {
  const lines = text.split('\n');
  const cellAt = lines.findIndex((l) => /^\s*CELL_PARAMETERS\s+angstrom/i.test(l));
  const posAt = lines.findIndex((l) => /^\s*ATOMIC_POSITIONS\s+angstrom/i.test(l));
  if (cellAt < 0 || posAt < 0) throw new Error('tile-supercell: the input needs CELL_PARAMETERS angstrom and ATOMIC_POSITIONS angstrom');
  const cell = [1, 2, 3].map((k) => lines[cellAt + k].trim().split(/\s+/).map(Number));
  const atoms: { symbol: string; xyz: number[] }[] = [];
  let end = posAt + 1;
  for (; end < lines.length; end++) {
    const f = lines[end].trim().split(/\s+/);
    if (f.length < 4 || !Number.isFinite(Number(f[1]))) break;
    atoms.push({ symbol: f[0], xyz: f.slice(1, 4).map(Number) });
  }
  const fmt = (v: number): string => v.toFixed(10).padStart(16);
  const cellLines = cell.map((row) => row.map((v) => fmt(v * n)).join(''));
  const posLines: string[] = [];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      for (let k = 0; k < n; k++)
        for (const a of atoms) {
          const r = [0, 1, 2].map((d) => a.xyz[d] + i * cell[0][d] + j * cell[1][d] + k * cell[2][d]);
          posLines.push(`${a.symbol.padEnd(4)}${r.map(fmt).join('')}`);
        }
  const outLines = [...lines.slice(0, cellAt + 1), ...cellLines, ...lines.slice(cellAt + 4, posAt + 1), ...posLines, ...lines.slice(end)];
  return outLines
    .map((l) => l.replace(/^(\s*nat\s*=\s*)(\d+)/i, (_m, p: string, v: string) => `${p}${Number(v) * n ** 3}`))
    .join('\n');
}

function main(): void {
  const { input, descriptors, n, out } = parseArgs(process.argv.slice(2));
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'supercell.pw.scf.in'), tilePwInput(fs.readFileSync(input, 'utf8'), n));
  const src = new NpyFile(descriptors);
  const [nx, ny, nz, f] = src.header.shape;
  if (src.header.shape.length !== 4 || src.header.dtype !== 'float32') throw new Error(`tile-supercell: ${descriptors} must be float32 (nx, ny, nz, F)`);
  const cellValues = src.readRows(0, src.rowCount) as Float32Array;
  src.close();
  // C order (x slowest): one supercell x-plane at a time, each row of z tiled n times
  const w = new NpyStreamWriter(path.join(out, 'supercell.in.npy'), [n * nx, n * ny, n * nz, f], 'float32');
  const plane = new Float32Array(n * ny * n * nz * f);
  for (let X = 0; X < n * nx; X++) {
    const x = X % nx;
    for (let Y = 0; Y < n * ny; Y++) {
      const y = Y % ny;
      const row = cellValues.subarray(((x * ny + y) * nz) * f, ((x * ny + y) * nz + nz) * f);
      for (let t = 0; t < n; t++) plane.set(row, (Y * n * nz + t * nz) * f);
    }
    w.write(plane);
  }
  w.close();
  console.log(`tile-supercell: ${n}×${n}×${n} → ${out}/supercell.pw.scf.in, supercell.in.npy (${n * nx}×${n * ny}×${n * nz}×${f})`);
}

if (require.main === module) main();
