/**
 * `mala-ts test --dos-out`: a snapshot's predicted and target DOS on common energies, per atom, as
 * CSV, with both Fermi energies and the electronic temperature in `#` header lines, so that where
 * a band-energy error comes from can be read off (bench/band-error-budget.ts) or plotted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from './atomic-write';

export interface DosComparison {
  snapshot: string;
  atomCount: number;
  temperatureK: number;
  fermiModelEv: number;
  fermiTargetEv: number;
  energiesEv: ArrayLike<number>;
  /** whole-cell DOS, states/eV (divided by atomCount here) */
  modelPerEv: ArrayLike<number>;
  targetPerEv: ArrayLike<number>;
}

export function dosComparisonCsv(c: DosComparison): string {
  const n = c.atomCount;
  const lines = [
    `# snapshot ${c.snapshot}, ${n} atoms, electrons at ${c.temperatureK} K`,
    `# fermi_model_ev ${c.fermiModelEv}`,
    `# fermi_target_ev ${c.fermiTargetEv}`,
    'energy_ev,dos_model_per_ev_atom,dos_target_per_ev_atom',
  ];
  for (let k = 0; k < c.energiesEv.length; k++) lines.push(`${c.energiesEv[k]},${c.modelPerEv[k] / n},${c.targetPerEv[k] / n}`);
  return lines.join('\n') + '\n';
}

/** Parsed back (the bench and the tests read what the tester wrote). */
export function parseDosComparisonCsv(text: string, file: string): Omit<DosComparison, 'snapshot' | 'atomCount' | 'temperatureK'> & { temperatureK: number } {
  const header = (key: string): number => {
    const m = text.match(new RegExp(`^# ${key} (\\S+)$`, 'm'));
    if (!m) throw new Error(`${file}: no '# ${key}' line: not a mala-ts test --dos-out file`);
    return Number(m[1]);
  };
  const t = text.match(/electrons at (\S+) K/);
  if (!t) throw new Error(`${file}: no electron temperature line: not a mala-ts test --dos-out file`);
  const rows = text.split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('energy_ev')).map((l) => l.split(',').map(Number));
  return {
    temperatureK: Number(t[1]),
    fermiModelEv: header('fermi_model_ev'),
    fermiTargetEv: header('fermi_target_ev'),
    energiesEv: rows.map((r) => r[0]),
    modelPerEv: rows.map((r) => r[1]),
    targetPerEv: rows.map((r) => r[2]),
  };
}

export function writeDosComparisonCsv(file: string, c: DosComparison): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, dosComparisonCsv(c));
}
