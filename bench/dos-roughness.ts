/**
 * A model's DOS roughness and total-energy error on one structure (issue 18; a diagnostic, not a
 * test): predict, then the rms of the DOS's second difference over its mean between −2 and 8 eV
 * (src/targets/dos-roughness.ts), σ(E_total) for an ensemble, and with --qe-reference (a JSON with
 * totalEnergyEv and atoms, as fixtures/al-size-transfer/qe-reference.json) the error against QE.
 * With --dos-csv it reads a DOS written by predict (e.g. demo-out/dos.csv) instead of predicting.
 *
 *   npx tsx bench/dos-roughness.ts --model models/al-fcc-broad/model.zip
 *       --structure fixtures/al-size-transfer/Al32_298K_0.pw.scf.in
 *       --qe-reference fixtures/al-size-transfer/qe-reference.json --pseudo-dir fixtures/al-fcc-qe
 *   npx tsx bench/dos-roughness.ts --dos-csv demo-out/dos.csv
 */
import * as fs from 'node:fs';
import { arg, helpIfAsked } from './help';
import { dosRoughness } from '../src/targets/dos-roughness';
import { predict } from '../src/workflow/predict';

helpIfAsked(__filename);

async function main(): Promise<void> {
  if (process.argv.includes('--dos-csv')) {
    const rows = fs.readFileSync(arg('dos-csv'), 'utf8').split('\n').filter((l) => /^-?\d/.test(l)).map((l) => l.split(',').map(Number));
    process.stdout.write(`${arg('dos-csv')}: DOS roughness ${dosRoughness(rows.map((r) => r[0]), rows.map((r) => r[1])).toFixed(4)}\n`);
    return;
  }
  const r = await predict({ structureFile: arg('structure'), modelFile: arg('model'), pseudoDir: process.argv.includes('--pseudo-dir') ? arg('pseudo-dir') : undefined });
  const parts = [`DOS roughness ${dosRoughness(r.energiesEv, r.dosPerEv).toFixed(4)}`];
  const n = r.atomCount;
  if (r.uncertainty?.totalEnergySigmaEv !== undefined) parts.push(`σ(E_total) ${((1000 * r.uncertainty.totalEnergySigmaEv) / n).toFixed(2)} meV/atom`);
  if (process.argv.includes('--qe-reference')) {
    const qe = JSON.parse(fs.readFileSync(arg('qe-reference'), 'utf8')) as { totalEnergyEv: number; atoms: number };
    parts.push(`total energy − QE ${((1000 * (r.totalEnergy!.totalEnergyEv - qe.totalEnergyEv)) / qe.atoms).toFixed(2)} meV/atom`);
  }
  process.stdout.write(`${arg('model')} on ${arg('structure')}: ${parts.join(', ')}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
