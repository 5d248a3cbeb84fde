/**
 * How good is the shipped aluminium model? Errors against QE in meV/atom, and wall times.
 *
 *   npx tsx bench/al-eval.ts --model models/al-fcc-298K/model.zip --data .cache/al-fcc-298K/data \
 *       --reference fixtures/al-size-transfer [--out models/al-fcc-298K/evaluation.json]
 *
 * 1. Held-out 4-atom snapshots (Al4_298K_6, _7; never seen in training):
 *    - "DFT LDOS": band and total energy from QE's own (Gaussian) LDOS through our observables and
 *      energy terms: the error of the LDOS representation itself (energy grid, broadening);
 *    - "model": `predict` (LAMMPS descriptors → network → observables → total energy) from the
 *      structure alone; errors against QE's eigenvalue band energy and printed total energy.
 * 2. Size transfer: `predict` on the 32-atom cell of fixtures/al-size-transfer, against its QE
 *    reference (qe-reference.json), and the wall-time ratio QE / mala-ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../src/io/atomic-write';
import { loadPseudopotentials, totalEnergy } from '../src/qe';
import { makeEnergyGrid } from '../src/targets/energy-grid';
import { computeObservables } from '../src/workflow/observables';
import { predict } from '../src/workflow/predict';
import { loadModel } from '../src/network/model';
import { arg, helpIfAsked } from './help';

helpIfAsked(__filename);

const PSEUDO_DIR = '/usr/share/espresso/pseudo';
const HELD_OUT = (process.env.AL_EVAL_SNAPSHOTS ?? '6,7').split(',').map(Number);
const meV = (a: number, b: number, nat: number) => ((a - b) / nat) * 1000;

async function main(): Promise<void> {
  const modelFile = path.resolve(arg('model'));
  const data = path.resolve(arg('data'));
  const refDir = path.resolve(arg('reference'));
  const outFile = path.resolve(arg('out', path.join(path.dirname(modelFile), 'evaluation.json')));
  const model = loadModel(modelFile);
  const rows: Record<string, unknown>[] = [];

  for (const i of HELD_OUT) {
    const name = `Al4_298K_${i}`;
    const info = JSON.parse(fs.readFileSync(path.join(data, `${name}.info.json`), 'utf8'));
    const nat = info.atoms.numbers.length;
    const m = info.mala_ts;
    const energyGrid = makeEnergyGrid(m.ldos_gridoffset_ev, m.ldos_gridspacing_ev, m.ldos_gridsize);
    const qeOut = path.join(data, `${name}.pw.scf.out`);
    const pseudos = loadPseudopotentials(['Al'], PSEUDO_DIR, info.pseudopotentials);
    const dft = await computeObservables({
      ldos: { kind: 'npy', file: path.join(data, `${name}.out.npy`) },
      energyGrid,
      structureFile: qeOut,
      totalEnergy: (ctx) => {
        const t = totalEnergy({
          cellAngstrom: ctx.cellAngstrom as never,
          positionsAngstrom: ctx.positionsAngstrom as never,
          species: ctx.species,
          grid: ctx.gridShape,
          densityPerA3: ctx.densityPerA3,
          ecutrhoRy: info.ecutrho,
          bandEnergyEv: ctx.bandEnergyEv,
          entropyContributionEv: ctx.entropyContributionEv,
          pseudopotentials: pseudos,
        });
        return { totalEnergyEv: t.totalEnergyEv, termsEv: t.termsEv };
      },
    });
    const t0 = performance.now();
    const pred = await predict({ structureFile: qeOut, model, pseudoDir: PSEUDO_DIR, requireTotalEnergy: true });
    const predictS = (performance.now() - t0) / 1000;
    const scfStamp = JSON.parse(fs.readFileSync(path.join(data, '.work', name, 'scf.done.json'), 'utf8'));
    rows.push({
      snapshot: name,
      atoms: nat,
      qe: { bandEnergyEv: info.band_energy_dft_calculation, totalEnergyEv: info.total_energy_dft_calculation, fermiEnergyEv: info.fermi_energy_dft },
      dftLdos: {
        bandEnergyErrorMeVPerAtom: meV(dft.bandEnergyEv, info.band_energy_dft_calculation, nat),
        totalEnergyErrorMeVPerAtom: meV(dft.totalEnergy!.totalEnergyEv, info.total_energy_dft_calculation, nat),
        fermiEnergyErrorMeV: (dft.fermiEnergyEv - info.fermi_energy_dft) * 1000,
      },
      model: {
        bandEnergyEv: pred.bandEnergyEv,
        totalEnergyEv: pred.totalEnergy!.totalEnergyEv,
        bandEnergyErrorMeVPerAtom: meV(pred.bandEnergyEv, info.band_energy_dft_calculation, nat),
        totalEnergyErrorMeVPerAtom: meV(pred.totalEnergy!.totalEnergyEv, info.total_energy_dft_calculation, nat),
        fermiEnergyErrorMeV: (pred.fermiEnergyEv - info.fermi_energy_dft) * 1000,
        densityElectrons: pred.densityElectrons,
      },
      wallSeconds: { qeScf: scfStamp.seconds, maltsPredict: predictS },
    });
  }

  // size transfer
  const refFile = path.join(refDir, 'qe-reference.json');
  if (!fs.existsSync(refFile)) {
    console.log(JSON.stringify(rows, null, 1));
    throw new Error(`no ${refFile}: run \`make al-reference\` first (held-out results above)`);
  }
  const ref = JSON.parse(fs.readFileSync(refFile, 'utf8'));
  const structure = path.join(refDir, ref.input);
  const t0 = performance.now();
  const big = await predict({ structureFile: structure, model, pseudoDir: PSEUDO_DIR, requireTotalEnergy: true });
  const bigS = (performance.now() - t0) / 1000;
  const nat = ref.atoms;
  const size = {
    structure: path.relative(process.cwd(), structure),
    atoms: nat,
    grid: big.gridShape,
    qe: { bandEnergyEv: ref.bandEnergyEv, totalEnergyEv: ref.totalEnergyEv, fermiEnergyEv: ref.fermiEnergyEv, wallSeconds: ref.wallSeconds, mpiRanks: ref.mpiRanks },
    model: { bandEnergyEv: big.bandEnergyEv, totalEnergyEv: big.totalEnergy!.totalEnergyEv, fermiEnergyEv: big.fermiEnergyEv, wallSeconds: bigS, timingsS: big.timingsS },
    bandEnergyErrorMeVPerAtom: meV(big.bandEnergyEv, ref.bandEnergyEv, nat),
    totalEnergyErrorMeVPerAtom: meV(big.totalEnergy!.totalEnergyEv, ref.totalEnergyEv, nat),
    fermiEnergyErrorMeV: (big.fermiEnergyEv - ref.fermiEnergyEv) * 1000,
    wallTimeRatioQeOverMalaTs: ref.wallSeconds / bigS,
  };
  const result = {
    command: `npx tsx bench/al-eval.ts --model ${path.relative(process.cwd(), modelFile)} --data ${path.relative(process.cwd(), data)} --reference ${path.relative(process.cwd(), refDir)}`,
    date: new Date().toISOString(),
    heldOut: rows,
    sizeTransfer: size,
  };
  writeFileAtomic(outFile, `${JSON.stringify(result, null, 1)}\n`);

  const f = (x: number) => x.toFixed(2).padStart(8);
  console.log('held-out 4-atom snapshots: error vs QE (meV/atom)       band E   total E');
  for (const r of rows as { snapshot: string; dftLdos: Record<string, number>; model: Record<string, number>; wallSeconds: Record<string, number> }[]) {
    console.log(`  ${r.snapshot}  QE's own LDOS (representation)        ${f(r.dftLdos.bandEnergyErrorMeVPerAtom)}  ${f(r.dftLdos.totalEnergyErrorMeVPerAtom)}`);
    console.log(`  ${r.snapshot}  model (predict from structure)        ${f(r.model.bandEnergyErrorMeVPerAtom)}  ${f(r.model.totalEnergyErrorMeVPerAtom)}   (QE SCF ${r.wallSeconds.qeScf?.toFixed(1)} s, predict ${r.wallSeconds.maltsPredict.toFixed(1)} s)`);
  }
  console.log(`size transfer, ${nat} atoms, grid ${big.gridShape.join('×')}: model vs QE ${f(size.bandEnergyErrorMeVPerAtom)}  ${f(size.totalEnergyErrorMeVPerAtom)}  (E_F ${size.fermiEnergyErrorMeV.toFixed(1)} meV)`);
  console.log(`  wall time: QE ${ref.wallSeconds.toFixed(1)} s (${ref.mpiRanks} MPI ranks) vs mala-ts predict ${bigS.toFixed(1)} s → ratio ${size.wallTimeRatioQeOverMalaTs.toFixed(1)}`);
  console.log(`→ ${outFile}`);
}

main().catch((e) => {
  console.error(e?.describe ? e.describe() : e);
  process.exit(1);
});
