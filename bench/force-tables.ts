/**
 * The rows of `mala-ts test --forces --json` tables with their forces and structures, for the force
 * benches (force-residual-pairs, force-error-by-neighbour): each row's structure is read from its
 * data folder (<name>.pw.scf.out), and a row whose forces are of another number of atoms is an error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRowForcesEvPerA, type RowForcesEvPerA } from '../src/workflow/tester-report';
import { readStructure } from '../src/structure/registry';
import type { Atoms } from '../src/structure/atoms';

export interface ForceRow {
  name: string;
  row: Record<string, unknown>;
  forces: RowForcesEvPerA;
  atoms: Atoms;
}

export function forceRowsOfTables(files: readonly string[]): ForceRow[] {
  const out: ForceRow[] = [];
  for (const file of files) {
    const table = JSON.parse(fs.readFileSync(file, 'utf8')) as { data?: unknown; snapshots?: Record<string, unknown>[] };
    for (const row of table.snapshots ?? []) {
      const forces = requireRowForcesEvPerA(row, file);
      const dir = typeof row.data === 'string' ? row.data : typeof table.data === 'string' ? table.data : undefined;
      if (!dir) throw new Error(`${file}: no data folder for row ${row.name}`);
      const atoms = readStructure(path.join(dir, `${row.name}.pw.scf.out`)).atoms;
      if (atoms.positionsAngstrom.length !== forces.model.length) throw new Error(`${file}: row ${row.name} has forces of ${forces.model.length} atoms, its structure ${atoms.positionsAngstrom.length}`);
      out.push({ name: String(row.name), row, forces, atoms });
    }
  }
  return out;
}
