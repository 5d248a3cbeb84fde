/**
 * An ensemble's spread σ against the true error, out of the domain, and what it costs.
 *
 *   npx tsx bench/al-ensemble.ts --single models/al-fcc-298K/model.zip \
 *       --ensemble models/al-fcc-298K-ensemble/model.zip --data .cache/al-fcc-298K/data \
 *       [--qe DIR] [--cost-structure FILE] [--repeats 3] [--out FILE.json]
 *
 * 1. Held-out frames of --data (Al4_298K_6, _7, and the validation frame _5; QE's energies from
 *    their info.json, written by `mala-ts generate`): predict with the ensemble (energies of the
 *    members' mean LDOS) and with --single; |E_pred − E_QE| per atom against σ.
 * 2. --qe DIR: more frames as pw.x outputs DIR/<name>.pw.scf.out (verbosity 'high', beside their
 *    <name>.pw.scf.in); `--write-inputs DIR` writes the two used in the recipe: the example frame
 *    (examples/al4-298K.pw.scf.in) and the same frame strained by 1 % (a = 4.0905 Å, outside the
 *    training domain, as test/domain/domain.test.ts makes it), to be run with pw.x -in.
 * 3. Cost: predict of --cost-structure (default the example frame) with the single model and with
 *    the ensemble, interleaved, --repeats times each, in one process (models loaded once): the
 *    stage timings (descriptors, network, ensemble) and the total.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../src/io/atomic-write';
import { eigenvalueBandEnergy, parseQeOutputBands } from '../src/dft/qe-xml';
import { loadModel, type LdosModel } from '../src/network/model';
import { parseQeOutput } from '../src/structure/qe-output';
import { rydbergEv } from '../src/structure/units';
import { predict, type PredictResult } from '../src/workflow/predict';
import { arg, helpIfAsked } from './help';
import { median } from './stats';

helpIfAsked(__filename);

const PSEUDO_DIR = '/usr/share/espresso/pseudo';
const EXAMPLE = path.join(__dirname, '..', 'examples', 'al4-298K.pw.scf.in');

/** A pw.x input with cell and positions scaled by 1 + strain (also test/domain/domain.test.ts's strained cell). */
export function strainedPwInput(text: string, strain: number): string {
  let block = '';
  return text
    .split('\n')
    .map((line) => {
      if (/^(CELL_PARAMETERS|ATOMIC_POSITIONS)/.test(line)) block = line.split(/\s/)[0];
      else if (/^(K_POINTS|ATOMIC_SPECIES)/.test(line)) block = '';
      const t = line.trim().split(/\s+/);
      const nums = block && !line.startsWith(block) && !line.startsWith('!') ? t.slice(block === 'CELL_PARAMETERS' ? 0 : 1) : [];
      if (nums.length !== 3 || nums.some((x) => !Number.isFinite(Number(x)))) return line;
      const scaled = nums.map((x) => (Number(x) * (1 + strain)).toFixed(10));
      return (block === 'CELL_PARAMETERS' ? '  ' : `${t[0]}  `) + scaled.join('  ');
    })
    .join('\n');
}

interface Reference {
  name: string;
  structure: string;
  atoms: number;
  totalEnergyEv: number;
  bandEnergyEv: number;
  fermiEnergyEv: number;
}

/** QE's energies of a pw.x output: "!" total (free) energy, E_F, eigenvalue band energy at the input's degauss. */
function qeReference(outFile: string): Reference {
  const text = fs.readFileSync(outFile, 'utf8');
  const out = parseQeOutput(text, outFile);
  const input = fs.readFileSync(outFile.replace(/\.out$/, '.in'), 'utf8');
  const degaussRy = Number(/degauss\s*=\s*([0-9.eEdD+-]+)/.exec(input)![1].replace(/[dD]/, 'e'));
  const bands = parseQeOutputBands(text, outFile);
  return {
    name: path.basename(outFile, '.pw.scf.out'),
    structure: outFile,
    atoms: out.atoms.symbols.length,
    totalEnergyEv: out.energiesRy.total! * rydbergEv,
    fermiEnergyEv: out.fermiEnergyEv!,
    bandEnergyEv: eigenvalueBandEnergy(bands, out.fermiEnergyEv!, degaussRy * rydbergEv).bandEnergyEv,
  };
}

function dataReference(data: string, name: string): Reference {
  const info = JSON.parse(fs.readFileSync(path.join(data, `${name}.info.json`), 'utf8'));
  return { name, structure: path.join(data, `${name}.pw.scf.out`), atoms: info.atoms.numbers.length, totalEnergyEv: info.total_energy_dft_calculation, bandEnergyEv: info.band_energy_dft_calculation, fermiEnergyEv: info.fermi_energy_dft };
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

async function frameRow(ref: Reference, single: LdosModel, ensemble: LdosModel): Promise<Record<string, unknown>> {
  const run = (model: LdosModel) => predict({ structureFile: ref.structure, model, pseudoDir: PSEUDO_DIR, requireTotalEnergy: true });
  const s = await run(single);
  const e = await run(ensemble);
  const u = e.uncertainty!;
  const perAtom = (ev: number) => (1000 * ev) / ref.atoms;
  const err = (r: PredictResult) => ({
    totalMeVPerAtom: r3(perAtom(r.totalEnergy!.totalEnergyEv - ref.totalEnergyEv)),
    bandMeVPerAtom: r3(perAtom(r.bandEnergyEv - ref.bandEnergyEv)),
    fermiMeV: r3(1000 * (r.fermiEnergyEv - ref.fermiEnergyEv)),
  });
  return {
    frame: ref.name,
    atoms: ref.atoms,
    domainScore: e.domain?.score,
    inDomain: e.domain?.inDomain,
    ensembleError: err(e),
    sigma: { totalMeVPerAtom: r3(perAtom(u.totalEnergySigmaEv!)), bandMeVPerAtom: r3(perAtom(u.bandEnergySigmaEv)), fermiMeV: r3(1000 * u.fermiEnergySigmaEv) },
    singleError: err(s),
    members: u.members.map((m) => ({ totalMeVPerAtom: r3(perAtom(m.totalEnergyEv! - ref.totalEnergyEv)), bandMeVPerAtom: r3(perAtom(m.bandEnergyEv - ref.bandEnergyEv)), fermiMeV: r3(1000 * (m.fermiEnergyEv - ref.fermiEnergyEv)) })),
  };
}

async function main(): Promise<void> {
  const writeInputs = process.argv.indexOf('--write-inputs');
  if (writeInputs >= 0) {
    const dir = process.argv[writeInputs + 1];
    fs.mkdirSync(dir, { recursive: true });
    const text = fs.readFileSync(EXAMPLE, 'utf8');
    fs.writeFileSync(path.join(dir, 'al4-298K.pw.scf.in'), text);
    fs.writeFileSync(path.join(dir, 'al4-strained-1pct.pw.scf.in'), strainedPwInput(text, 0.01));
    console.log(`wrote ${dir}/al4-298K.pw.scf.in and al4-strained-1pct.pw.scf.in: run pw.x -in on each (> NAME.pw.scf.out)`);
    return;
  }
  const single = loadModel(path.resolve(arg('single')));
  const ensemble = loadModel(path.resolve(arg('ensemble')));
  const data = path.resolve(arg('data'));
  const qeDir = arg('qe', '');
  const repeats = Number(arg('repeats', '3'));
  const refs = ['Al4_298K_5', 'Al4_298K_6', 'Al4_298K_7'].map((n) => dataReference(data, n));
  if (qeDir) for (const f of fs.readdirSync(qeDir).filter((n) => n.endsWith('.pw.scf.out')).sort()) refs.push(qeReference(path.join(qeDir, f)));
  const frames: Record<string, unknown>[] = [];
  for (const ref of refs) {
    const row = await frameRow(ref, single, ensemble);
    console.log(JSON.stringify(row));
    frames.push(row);
  }

  // cost: interleaved, the same process, models (and their networks) loaded once; the first pair warms up
  const costStructure = path.resolve(arg('cost-structure', EXAMPLE));
  const runs: Record<string, Record<string, number>[]> = { single: [], ensemble: [] };
  for (let k = 0; k <= repeats; k++) {
    for (const [name, model] of [['single', single], ['ensemble', ensemble]] as const) {
      const r = await predict({ structureFile: costStructure, model, pseudoDir: PSEUDO_DIR });
      if (k > 0) runs[name].push(r.timingsS);
    }
  }
  const stages = ['descriptors_s', 'network_s', 'dos_s', 'density_s', 'total_energy_s', 'ensemble_s', 'total_s'];
  const cost = Object.fromEntries(Object.entries(runs).map(([name, ts]) => [name, Object.fromEntries(stages.map((s) => [s, r3(median(ts.map((t) => t[s] ?? 0)))]))]));
  const result = {
    command: `npx tsx bench/al-ensemble.ts ${process.argv.slice(2).join(' ')}`,
    ensembleSize: ensemble.ensembleSize,
    frames,
    cost: { structure: path.relative(process.cwd(), costStructure), repeats, medianSeconds: cost, ratioTotal: r3((cost.ensemble.total_s as number) / (cost.single.total_s as number)) },
  };
  console.log(JSON.stringify(result.cost));
  const out = arg('out', '');
  if (out) writeFileAtomic(out, `${JSON.stringify(result, null, 1)}\n`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e?.describe ? e.describe() : e);
    process.exit(1);
  });
}
