/**
 * `mala-ts finetune` (issues 16 and 18): one Adam step per frame on MSE(LDOS) + λ_F·force MSE +
 * λ_E·(ΔE/atom)², with the force term's gradient from a central difference of the descriptors
 * along the force error and the energy term's from the forces' adjoint β. Asserted on the
 * project's Al frame (4 atoms, QE forces) and a small random model: each term, on alone, lowers
 * the error it penalises over a few epochs (the gradient's sign and size are right), the archive
 * records the run, and bad input is one clear error.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import execa from 'execa';
import { MalaError } from '../../src/errors';
import { readNpy, writeNpy } from '../../src/io/npy';
import { ensembleMembers, LdosModel, readModelData, saveModelData } from '../../src/network/model';
import { buildEnsemble } from '../../src/workflow/ensemble';
import { DataScaler } from '../../src/network/scalers';
import { Rng } from '../../src/network/rng';
import { parseQeOutput } from '../../src/structure/qe-output';
import { rydbergEv } from '../../src/structure/units';
import { makeEnergyGrid } from '../../src/targets/energy-grid';
import { targetsForOutputGradient } from '../../src/network/output-gradient';
import { finetuneModel } from '../../src/workflow/finetune';
import { predict, predictDescriptorRows } from '../../src/workflow/predict';
import { computeDescriptorsFile } from '../../src/workflow/descriptors';
import { ldosGradientRows } from '../../src/targets/dos-adjoint';
import { mpiTestEnv, repoRoot, tempDir } from '../helpers';
import { makeModelData, randomArray } from '../network/synthetic';

const AL_OUT = path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.out');
const UPF_DIR = path.join(repoRoot, 'fixtures', 'al-fcc-qe');

describe('mala-ts finetune: the network trained on QE forces and energies beside the LDOS', function () {
  this.timeout(300000);
  let t: { dir: string; cleanup: () => void };
  let model: string;
  let data: string;
  let bandTargetEv: number;
  let fermiTargetEv: number;
  before(async () => {
    t = tempDir();
    const m = makeModelData(11, [14, 16, 24]);
    m.energyGrid = makeEnergyGrid(-5, 1, 24);
    m.outputScaler = new DataScaler('minmax').fit(randomArray(new Rng(5), 50 * 24, 0, 0.1), 24);
    model = path.join(t.dir, 'model.zip');
    saveModelData(model, m);
    // one frame as generate writes it: its QE output (forces, energy), an LDOS target near the model's
    data = path.join(t.dir, 'data');
    fs.mkdirSync(data);
    fs.copyFileSync(AL_OUT, path.join(data, 'al.pw.scf.out'));
    const pred = await predict({ structureFile: AL_OUT, modelFile: model, outDir: path.join(t.dir, 'pred'), writeLdos: true, pseudoDir: UPF_DIR, backend: 'ts' });
    const ldos = readNpy(path.join(t.dir, 'pred', 'ldos.npy'));
    writeNpy(path.join(data, 'al.out.npy'), Float32Array.from(ldos.data, (v) => v * 1.02), ldos.shape);
    // the frame's descriptors as generate writes them (xyz columns first): energy-only epochs read them
    const { descriptors: d } = readModelData(model);
    const { type: _type, ...params } = d as unknown as Record<string, unknown>;
    computeDescriptorsFile({ structureFile: AL_OUT, outFile: path.join(data, 'al.in.npy'), params, xyz: true });
    const qe = parseQeOutput(fs.readFileSync(AL_OUT, 'utf8'));
    // a band energy 50 meV/atom above the random model's (the fixture keeps no eigenvalues to sum)
    bandTargetEv = pred.bandEnergyEv + 4 * 0.05;
    // and a Fermi energy 100 meV above the model's
    fermiTargetEv = pred.fermiEnergyEv + 0.1;
    fs.writeFileSync(path.join(data, 'al.info.json'), JSON.stringify({ temperature: 298, total_energy_dft_calculation: qe.energiesRy.total! * rydbergEv, band_energy_dft_calculation: bandTargetEv, fermi_energy_dft: fermiTargetEv }));
  });
  after(() => t.cleanup());

  it('the targets of an output gradient: the MSE step then has exactly that gradient', () => {
    const out = Float32Array.of(0.5, -0.25, 1, 0);
    const g = [0.01, -0.02, 0, 0.004];
    const y = targetsForOutputGradient(out, g, 2, 2);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs((2 * (out[i] - y[i])) / 4 - g[i]) < 1e-7, `${i}`);
    assert.throws(() => targetsForOutputGradient(out, g, 3, 2), /4 outputs/);
  });

  it('the displaced frames\' rows (predictDescriptorRows): the rows predict hands the network, bit for bit, in one block and in several', async () => {
    class Capture extends LdosModel {
      rows: Float32Array[] = [];
      override async predictLdos(d: Float32Array, n: number, o: Parameters<LdosModel['predictLdos']>[2] = {}): Promise<Float32Array> {
        this.rows.push(Float32Array.from(d));
        return super.predictLdos(d, n, o);
      }
    }
    const m = readModelData(model);
    for (const maxBlockPoints of [undefined, 2000]) {
      const cap = new Capture(m, '<test>', { backend: 'ts' });
      const r = await predict({ structureFile: AL_OUT, model: cap, pseudoDir: UPF_DIR, maxBlockPoints });
      assert.equal(cap.rows.length, r.blockCount);
      assert.ok(maxBlockPoints === undefined || r.blockCount > 3, `${r.blockCount} blocks`);
      const want = Float32Array.from(cap.rows.flatMap((b) => Array.from(b)));
      const got = predictDescriptorRows({ structureFile: AL_OUT, model: new LdosModel(m, '<test>', { backend: 'ts' }), pseudoDir: UPF_DIR, maxBlockPoints });
      assert.equal(got.length, 24 ** 3 * 14);
      assert.ok(got.every((v, i) => Object.is(v, want[i])), `${maxBlockPoints ?? 'default'} block points: rows differ`);
    }
  });

  it('energy-only epochs read the stored descriptors: the same energy and ∂E/∂L as the forces path computes from the atoms', async () => {
    const common = { structureFile: AL_OUT, modelFile: model, pseudoDir: UPF_DIR, backend: 'ts' as const, requireTotalEnergy: true, ldosCotangent: true };
    const fromAtoms = await predict({ ...common, forces: true });
    const fromFile = await predict({ ...common, descriptorsFile: path.join(data, 'al.in.npy') });
    assert.ok(Math.abs(fromAtoms.totalEnergy!.totalEnergyEv - fromFile.totalEnergy!.totalEnergyEv) < 1e-5, `${fromAtoms.totalEnergy!.totalEnergyEv} vs ${fromFile.totalEnergy!.totalEnergyEv} eV`);
    const rows = (r: typeof fromFile) => ldosGradientRows(r.ldosCotangent!.adjoint, r.ldosCotangent!.densityGradient, 0, r.ldosCotangent!.densityGradient.length);
    const a = rows(fromAtoms);
    const b = rows(fromFile);
    assert.equal(b.length, 24 * 24 * 24 * 24);
    let maxA = 0, maxD = 0;
    for (let i = 0; i < a.length; i++) {
      maxA = Math.max(maxA, Math.abs(a[i]));
      maxD = Math.max(maxD, Math.abs(a[i] - b[i]));
    }
    assert.ok(maxA > 0 && maxD < 1e-6 * maxA, `max |Δβ| ${maxD} of max |β| ${maxA}`);
  });

  it('the force term alone lowers the force error over the epochs; the energy term alone lowers the energy error', async () => {
    const common = { modelFile: model, dataDir: data, epochs: 6, learningRate: 1e-2, stepAngstrom: 0.01, pseudoDir: UPF_DIR, backend: 'ts' as const };
    const f = await finetuneModel({ ...common, out: path.join(t.dir, 'f.zip'), forceWeight: 1, energyWeight: 0 });
    const fr = f.history.map((h) => h.forceRmseEvPerA!);
    // (the LDOS rows' own term beside it may hold one epoch back: the trend, not every step)
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    assert.ok(fr.every((v) => v > 0) && fr[fr.length - 1] < 0.85 * fr[0] && mean(fr.slice(3)) < 0.9 * mean(fr.slice(0, 3)), `force RMSE ${fr.join(' → ')}`);
    const e = await finetuneModel({ ...common, out: path.join(t.dir, 'e.zip'), forceWeight: 0, energyWeight: 1 });
    const er = e.history.map((h) => h.totalEnergyRmseMeVPerAtom);
    assert.ok(er[er.length - 1] < 0.7 * er[0], `energy RMSE ${er.join(' → ')}`);
    // without a force term the forces are not computed (the stored descriptors are used)
    assert.ok(e.history.every((h) => h.forceRmseEvPerA === undefined));
    // and the energy it lowered is predict's from the atoms
    const after = await predict({ structureFile: AL_OUT, modelFile: path.join(t.dir, 'e.zip'), pseudoDir: UPF_DIR, backend: 'ts', requireTotalEnergy: true });
    const qeEv = parseQeOutput(fs.readFileSync(AL_OUT, 'utf8')).energiesRy.total! * rydbergEv;
    assert.ok((1000 * Math.abs(after.totalEnergy!.totalEnergyEv - qeEv)) / 4 < 0.7 * er[0], `after: ${after.totalEnergy!.totalEnergyEv} eV vs QE ${qeEv} eV (first epoch ${er[0]} meV/atom)`);
    const saved = readModelData(path.join(t.dir, 'e.zip'));
    const ft = (saved.provenance as { finetune?: { epochs: number; energyWeight: number; frames: string[] } }).finetune!;
    assert.deepEqual([ft.epochs, ft.energyWeight, ft.frames], [6, 1, ['al']]);
  });

  it('the band-energy term alone lowers the band-energy error against the frame\'s QE band energy', async () => {
    const b = await finetuneModel({ modelFile: model, dataDir: data, epochs: 6, learningRate: 1e-3, stepAngstrom: 0.01, pseudoDir: UPF_DIR, backend: 'ts', out: path.join(t.dir, 'b.zip'), forceWeight: 0, energyWeight: 0, bandWeight: 1 });
    const br = b.history.map((h) => h.bandEnergyRmseMeVPerAtom!);
    assert.ok(Math.abs(br[0] - 50) < 1, `the first epoch's error is the 50 meV/atom set: ${br[0]}`);
    assert.ok(br[br.length - 1] < 0.5 * br[0], `band-energy RMSE ${br.join(' → ')}`);
    const after = await predict({ structureFile: AL_OUT, modelFile: path.join(t.dir, 'b.zip'), pseudoDir: UPF_DIR, backend: 'ts' });
    assert.ok(Math.abs(after.bandEnergyEv - bandTargetEv) / 4 < 0.5 * 0.05, `after: ${after.bandEnergyEv} eV vs ${bandTargetEv} eV`);
  });

  it('the Fermi-energy term alone lowers the E_F error against the frame\'s QE Fermi energy', async () => {
    const f = await finetuneModel({ modelFile: model, dataDir: data, epochs: 6, learningRate: 1e-3, stepAngstrom: 0.01, pseudoDir: UPF_DIR, backend: 'ts', out: path.join(t.dir, 'mu.zip'), forceWeight: 0, energyWeight: 0, fermiWeight: 1 });
    const fr = f.history.map((h) => h.fermiEnergyRmseMeV!);
    assert.ok(Math.abs(fr[0] - 100) < 1, `the first epoch's error is the 100 meV set: ${fr[0]}`);
    assert.ok(fr[fr.length - 1] < 0.5 * fr[0], `E_F RMSE ${fr.join(' → ')}`);
    const after = await predict({ structureFile: AL_OUT, modelFile: path.join(t.dir, 'mu.zip'), pseudoDir: UPF_DIR, backend: 'ts' });
    assert.ok(Math.abs(after.fermiEnergyEv - fermiTargetEv) < 0.5 * 0.1, `after: ${after.fermiEnergyEv} eV vs ${fermiTargetEv} eV`);
  });

  it('the density term alone lowers the density error against the frame\'s LDOS target; it needs --force-weight 0', async () => {
    const common = { modelFile: model, dataDir: data, epochs: 6, learningRate: 1e-4, stepAngstrom: 0.01, pseudoDir: UPF_DIR, backend: 'ts' as const, energyWeight: 0 };
    const d = await finetuneModel({ ...common, out: path.join(t.dir, 'rho.zip'), forceWeight: 0, densityWeight: 1e4 });
    const dr = d.history.map((h) => h.densityErrorPercent!);
    // the target LDOS is the model's own × 1.02: its density 2 % above the model's everywhere
    assert.ok(Math.abs(dr[0] - 100 * (0.02 / 1.02)) < 0.05, `the first epoch's error is the 2 % set: ${dr[0]} %`);
    assert.ok(dr[dr.length - 1] < 0.3 * dr[0], `density error ${dr.join(' → ')} %`);
    await assert.rejects(finetuneModel({ ...common, out: path.join(t.dir, 'x.zip'), forceWeight: 1, densityWeight: 1 }), (e: unknown) => e instanceof MalaError && /--density-weight needs --force-weight 0/.test(e.message));
  });

  it('a folder of QE references (no LDOS): the energy term lowers the energy error, and the LDOS rows hold the network to its own starting outputs as hard as --ldos-weight says', async () => {
    const refs = path.join(t.dir, 'refs');
    fs.mkdirSync(refs);
    for (const ext of ['.pw.scf.out', '.info.json']) fs.copyFileSync(path.join(data, `al${ext}`), path.join(refs, `al${ext}`));
    const common = { modelFile: model, dataDir: refs, epochs: 6, learningRate: 1e-2, stepAngstrom: 0.01, pseudoDir: UPF_DIR, backend: 'ts' as const, forceWeight: 0, energyWeight: 1, anchorRowsPerFrame: 2000 };
    const runs = new Map<number, Awaited<ReturnType<typeof finetuneModel>>>();
    for (const w of [0, 1, 100]) runs.set(w, await finetuneModel({ ...common, out: path.join(t.dir, `refs-${w}.zip`), ldosWeight: w }));
    const energy = (w: number) => runs.get(w)!.history.map((h) => h.totalEnergyRmseMeVPerAtom);
    const drift = (w: number) => runs.get(w)!.history.map((h) => h.ldosRowsRms!);
    const course = (w: number) => `λ_L ${w}: energy RMSE ${energy(w).map((v) => v.toFixed(0)).join(' → ')} meV/atom, LDOS drift ${drift(w).map((v) => v.toFixed(3)).join(' → ')}`;
    // the first step sees the network as it started: its own outputs are the targets, exactly
    for (const w of runs.keys()) assert.equal(drift(w)[0], 0, course(w));
    // the energy term does its work with the LDOS rows at weight 0 and 1 …
    for (const w of [0, 1]) assert.ok(energy(w)[5] < 0.7 * energy(w)[0], course(w));
    // … and the LDOS moves less the harder it is held
    const last = (w: number) => drift(w)[5];
    assert.ok(last(0) > 0.5 && last(1) < 0.9 * last(0) && last(100) < 0.3 * last(0), [0, 1, 100].map(course).join('\n'));
    assert.ok(energy(100)[5] > energy(0)[5], [0, 100].map(course).join('\n'));
    const ft = (readModelData(path.join(t.dir, 'refs-1.zip')).provenance as { finetune: { ldosRows: { of: string; perFrame?: number }; ldosWeight: number } }).finetune;
    assert.deepEqual([ft.ldosRows, ft.ldosWeight], [{ of: 'the network itself (QE references: no LDOS targets)', perFrame: 2000 }, 1]);
    // the LDOS targets' folder: the rows are fitted to the targets (not zero at the start)
    const own = await finetuneModel({ ...common, dataDir: data, epochs: 1, out: path.join(t.dir, 'refs-data.zip') });
    assert.ok(own.history[0].ldosRowsRms! > 1e-3, `${own.history[0].ldosRowsRms}`);
    // the density term needs the LDOS targets
    await assert.rejects(finetuneModel({ ...common, out: path.join(t.dir, 'x.zip'), energyWeight: 0, densityWeight: 1 }), (e: unknown) => e instanceof MalaError && /--density-weight needs each frame's LDOS target; the data folder holds QE references/.test(e.message) && e.file === refs);
    await assert.rejects(finetuneModel({ ...common, out: path.join(t.dir, 'x.zip'), anchorRowsPerFrame: 0 }), (e: unknown) => e instanceof MalaError && /--anchor-rows must be a whole number ≥ 1, got 0/.test(e.message));
  });

  it('a folder of QE references with --checkpoint: a run killed after an epoch and resumed holds the network to its starting outputs still, and ends as the uninterrupted run, bit for bit', async () => {
    const refs = path.join(t.dir, 'refs-ck');
    fs.mkdirSync(refs);
    for (const ext of ['.pw.scf.out', '.info.json']) fs.copyFileSync(path.join(data, `al${ext}`), path.join(refs, `al${ext}`));
    const common = { modelFile: model, dataDir: refs, epochs: 3, learningRate: 1e-2, stepAngstrom: 0.01, pseudoDir: UPF_DIR, backend: 'ts' as const, forceWeight: 0, energyWeight: 1, anchorRowsPerFrame: 500 };
    const whole = await finetuneModel({ ...common, out: path.join(t.dir, 'refs-ck-whole.zip') });
    const checkpoint = path.join(t.dir, 'refs-ck.zip');
    const out = path.join(t.dir, 'refs-ck-resumed.zip');
    await assert.rejects(finetuneModel({ ...common, out, checkpoint, log: (l) => { if (/^epoch 1:/.test(l)) throw new Error('killed'); } }), /killed/);
    const resumed = await finetuneModel({ ...common, out, checkpoint });
    const got = readModelData(resumed.out).weights;
    readModelData(whole.out).weights.forEach((w, i) => assert.deepEqual(Array.from(got[i]), Array.from(w), `parameter ${i}`));
    assert.deepEqual(JSON.parse(JSON.stringify(resumed.history)), JSON.parse(JSON.stringify(whole.history)));
  });

  it('an ensemble: each member fine-tuned in turn exactly as its own file would be, written as an ensemble', async () => {
    const m = readModelData(model);
    const a = path.join(t.dir, 'member-a.zip');
    const b = path.join(t.dir, 'member-b.zip');
    saveModelData(a, { ...m, provenance: { ...m.provenance, seed: 3 } });
    saveModelData(b, { ...m, weights: m.weights.map((w) => Float32Array.from(w, (x) => 1.05 * x)), provenance: { ...m.provenance, seed: 7 } });
    const ens = path.join(t.dir, 'ens2.zip');
    buildEnsemble({ models: [a, b], out: ens });
    const common = { dataDir: data, epochs: 1, learningRate: 1e-3, stepAngstrom: 0.01, forceWeight: 1, energyWeight: 100, pseudoDir: UPF_DIR, backend: 'ts' as const };
    const r = await finetuneModel({ ...common, modelFile: ens, out: path.join(t.dir, 'ens2.ft.zip') });
    const ra = await finetuneModel({ ...common, modelFile: a, out: path.join(t.dir, 'member-a.ft.zip') });
    const rb = await finetuneModel({ ...common, modelFile: b, out: path.join(t.dir, 'member-b.ft.zip') });
    const tuned = ensembleMembers(readModelData(r.out));
    assert.deepEqual(tuned.map((x) => x.seed), [3, 7]);
    const own = [readModelData(ra.out).weights, readModelData(rb.out).weights];
    tuned.forEach((x, k) => x.weights.forEach((w, i) => assert.deepEqual(Array.from(w), Array.from(own[k][i]), `member ${k + 1}, parameter ${i}`)));
    assert.notDeepEqual(Array.from(tuned[1].weights[0]), Array.from(readModelData(b).weights[0]), 'member 2 was trained');
    assert.deepEqual(r.memberHistories, [ra.history, rb.history]);
    assert.deepEqual(r.history, ra.history);
  });

  it('--checkpoint: a run killed after any epoch, of any member, and started again ends with the uninterrupted run\'s weights, bit for bit; other options are refused', async () => {
    const m = readModelData(model);
    const a = path.join(t.dir, 'ck-a.zip');
    const b = path.join(t.dir, 'ck-b.zip');
    saveModelData(a, { ...m, provenance: { ...m.provenance, seed: 3 } });
    saveModelData(b, { ...m, weights: m.weights.map((w) => Float32Array.from(w, (x) => 0.95 * x)), provenance: { ...m.provenance, seed: 7 } });
    const ens = path.join(t.dir, 'ck-ens.zip');
    buildEnsemble({ models: [a, b], out: ens });
    const common = { modelFile: ens, dataDir: data, epochs: 2, learningRate: 1e-3, stepAngstrom: 0.01, forceWeight: 1, energyWeight: 100, pseudoDir: UPF_DIR, backend: 'ts' as const };
    const whole = await finetuneModel({ ...common, out: path.join(t.dir, 'ck-whole.zip') });

    const checkpoint = path.join(t.dir, 'ck.zip');
    const files = [path.join(t.dir, 'ck.member-1.zip'), path.join(t.dir, 'ck.member-2.zip')];
    const out = path.join(t.dir, 'ck-resumed.zip');
    // a "kill" when the log says an epoch ended (its checkpoint is saved by then): the stopAt-th such line of a run
    const killedAt = (stopAt: number) => {
      let seen = 0;
      return (line: string) => {
        if (/^epoch \d+:/.test(line) && ++seen === stopAt) throw new Error('killed');
      };
    };
    const lines: string[] = [];
    // member 1 after epoch 1; then member 1's epoch 2 and member 2's epoch 1; then the rest
    await assert.rejects(finetuneModel({ ...common, out, checkpoint, log: killedAt(1) }), /killed/);
    assert.ok(fs.existsSync(files[0]) && !fs.existsSync(files[1]) && !fs.existsSync(out));
    const second = killedAt(2);
    await assert.rejects(finetuneModel({ ...common, out, checkpoint, log: (l) => { lines.push(l); second(l); } }), /killed/);
    assert.ok(lines.some((l) => /resuming from .*ck\.member-1\.zip: 1 of 2 epochs done/.test(l)), lines.join('\n'));
    // other options than the checkpoint's: refused, naming the file
    await assert.rejects(finetuneModel({ ...common, learningRate: 2e-3, out, checkpoint }), (e: unknown) => e instanceof MalaError && /another model, other frames or other options/.test(e.message) && e.file === files[0]);
    const resumed = await finetuneModel({ ...common, out, checkpoint });

    const got = ensembleMembers(readModelData(resumed.out));
    const want = ensembleMembers(readModelData(whole.out));
    want.forEach((x, k) => x.weights.forEach((w, i) => assert.deepEqual(Array.from(got[k].weights[i]), Array.from(w), `member ${k + 1}, parameter ${i}`)));
    // (as JSON: the checkpoint keeps the epochs' records as the archive does, without undefined fields)
    assert.deepEqual(JSON.parse(JSON.stringify(resumed.memberHistories)), JSON.parse(JSON.stringify(whole.memberHistories)));
    assert.ok(files.every((f) => !fs.existsSync(f)), 'a finished run removes its checkpoints');
  });

  it('--checkpoint within an epoch (checkpointSeconds 0: after every frame): a run killed after any frame and started again ends with the uninterrupted run\'s weights and epochs, bit for bit', async () => {
    // three frames: the fixture's, its LDOS target scaled three ways
    const three = path.join(t.dir, 'data-three');
    fs.mkdirSync(three);
    const target = readNpy(path.join(data, 'al.out.npy'));
    [1, 1.03, 0.98].forEach((f, k) => {
      for (const ext of ['.pw.scf.out', '.in.npy', '.info.json']) fs.copyFileSync(path.join(data, `al${ext}`), path.join(three, `f${k}${ext}`));
      writeNpy(path.join(three, `f${k}.out.npy`), Float32Array.from(target.data, (v) => v * f), target.shape);
    });
    const common = { modelFile: model, dataDir: three, epochs: 2, learningRate: 1e-3, stepAngstrom: 0.01, forceWeight: 1, energyWeight: 100, pseudoDir: UPF_DIR, backend: 'ts' as const };
    const whole = await finetuneModel({ ...common, out: path.join(t.dir, 'within-whole.zip') });
    const checkpoint = path.join(t.dir, 'within-ck.zip');
    const out = path.join(t.dir, 'within-resumed.zip');
    const killedAt = (stopAt: number, lines: string[]) => {
      let seen = 0;
      return (line: string) => {
        lines.push(line);
        if (/^checkpoint: epoch/.test(line) && ++seen === stopAt) throw new Error('killed');
      };
    };
    const first: string[] = [];
    await assert.rejects(finetuneModel({ ...common, out, checkpoint, checkpointSeconds: 0, log: killedAt(1, first) }), /killed/);
    assert.deepEqual(first, ['checkpoint: epoch 1, 1 of 3 frames']);
    // resumed after frame 1 of epoch 1; killed after frame 1 of epoch 2 (epoch 1 ends in between, with no within-epoch save at its end)
    const second: string[] = [];
    await assert.rejects(finetuneModel({ ...common, out, checkpoint, checkpointSeconds: 0, log: killedAt(2, second) }), /killed/);
    assert.equal(second[0], `resuming from ${checkpoint}: 0 of 2 epochs done and 1 of 3 frames of epoch 1`);
    assert.deepEqual(second.slice(1).map((l) => l.replace(/:.*/, '')), ['checkpoint', 'epoch 1', 'checkpoint']);
    const third: string[] = [];
    const resumed = await finetuneModel({ ...common, out, checkpoint, checkpointSeconds: 0, log: (l) => third.push(l) });
    assert.equal(third[0], `resuming from ${checkpoint}: 1 of 2 epochs done and 1 of 3 frames of epoch 2`);
    const got = readModelData(resumed.out).weights;
    readModelData(whole.out).weights.forEach((w, i) => assert.deepEqual(Array.from(got[i]), Array.from(w), `parameter ${i}`));
    assert.deepEqual(JSON.parse(JSON.stringify(resumed.history)), JSON.parse(JSON.stringify(whole.history)));
    assert.ok(!fs.existsSync(checkpoint), 'a finished run removes its checkpoint');
    // the default (5 minutes) saves nothing within these epochs
    const quiet: string[] = [];
    await finetuneModel({ ...common, out: path.join(t.dir, 'within-quiet.zip'), checkpoint, log: (l) => quiet.push(l) });
    assert.ok(!quiet.some((l) => l.startsWith('checkpoint')), quiet.join('\n'));
    await assert.rejects(finetuneModel({ ...common, out: path.join(t.dir, 'x.zip'), checkpoint, checkpointSeconds: -60 }), (e: unknown) => e instanceof MalaError && /--checkpoint-minutes must be ≥ 0, got -1/.test(e.message));
  });

  it('--np 2: an ensemble\'s members dealt out over two MPI ranks give the one-process run\'s archive, bit for bit; --np 3 for 2 members: the idle rank joins; one network on two ranks is refused', async () => {
    const m = readModelData(model);
    const files = [1, 1.04, 0.97].map((f, k) => {
      const file = path.join(t.dir, `np-member-${k + 1}.zip`);
      saveModelData(file, { ...m, weights: m.weights.map((w) => Float32Array.from(w, (x) => f * x)), provenance: { ...m.provenance, seed: 20 + k } });
      return file;
    });
    const ens = path.join(t.dir, 'np-ens3.zip');
    buildEnsemble({ models: files, out: ens });
    const one = await finetuneModel({ modelFile: ens, dataDir: data, epochs: 2, learningRate: 1e-3, stepAngstrom: 0.01, forceWeight: 1, energyWeight: 100, pseudoDir: UPF_DIR, backend: 'ts', out: path.join(t.dir, 'np-one.zip') });
    const args = ['--data', data, '--epochs', '2', '--learning-rate', '1e-3', '--step', '0.01', '--force-weight', '1', '--energy-weight', '100', '--pseudo-dir', UPF_DIR, '--backend', 'ts', '--np', '2'];
    const out = path.join(t.dir, 'np-two.zip');
    const r = await execa('node', [path.join(repoRoot, 'bin', 'mala-ts.js'), 'finetune', '--model', ens, ...args, '--out', out], { env: mpiTestEnv, reject: false });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /member 2 of 3 \(seed 21\) on rank 1/);
    assert.match(r.stderr, /member 3 of 3 \(seed 22\) on rank 0/);
    assert.match(r.stderr, /member 2: epoch 2: before their steps/);
    assert.match(r.stdout, /an ensemble of 3 fine-tuned members, 2 epochs/);
    const got = readModelData(out);
    const want = readModelData(one.out);
    assert.deepEqual(ensembleMembers(got).map((x) => x.seed), [20, 21, 22]);
    // Object.is per value: -0 stays -0 through the ranks' exchange
    ensembleMembers(want).forEach((x, k) => x.weights.forEach((w, i) => assert.ok(w.every((v, j) => Object.is(v, ensembleMembers(got)[k].weights[i][j])), `member ${k + 1}, parameter ${i}`)));
    assert.notDeepEqual(Array.from(ensembleMembers(got)[1].weights[0]), Array.from(readModelData(files[1]).weights[0]), 'member 2 was trained');
    assert.deepEqual(JSON.parse(JSON.stringify(got.provenance)), JSON.parse(JSON.stringify(want.provenance)));
    // more ranks than members: rank 2 tunes nothing but joins the exchange; members 1 and 2 as before
    const pair = path.join(t.dir, 'np-ens2.zip');
    buildEnsemble({ models: files.slice(0, 2), out: pair });
    const idleOut = path.join(t.dir, 'np-idle.zip');
    const idle = await execa('node', [path.join(repoRoot, 'bin', 'mala-ts.js'), 'finetune', '--model', pair, ...args.slice(0, -1), '3', '--out', idleOut], { env: mpiTestEnv, reject: false });
    assert.equal(idle.exitCode, 0, idle.stderr);
    assert.equal((idle.stderr.match(/3 MPI ranks for 2 members: 1 rank\(s\) have no member and wait/g) ?? []).length, 1, idle.stderr);
    ensembleMembers(want).slice(0, 2).forEach((x, k) => x.weights.forEach((w, i) => assert.ok(w.every((v, j) => Object.is(v, ensembleMembers(readModelData(idleOut))[k].weights[i][j])), `idle run: member ${k + 1}, parameter ${i}`)));
    // one network: nothing to share, refused
    const single = await execa('node', [path.join(repoRoot, 'bin', 'mala-ts.js'), 'finetune', '--model', files[0], ...args, '--out', path.join(t.dir, 'np-single.zip')], { env: mpiTestEnv, reject: false });
    assert.notEqual(single.exitCode, 0);
    assert.equal((single.stderr.match(/finetune runs on 2 MPI ranks but the model holds one network/g) ?? []).length, 1, single.stderr);
    assert.equal(fs.existsSync(path.join(t.dir, 'np-single.zip')), false);
  });

  it('bad input: a feature-wise output scaler, a frame without QE forces, a bad step: one clear error each', async () => {
    const common = { dataDir: data, epochs: 1, learningRate: 1e-3, stepAngstrom: 0.01, forceWeight: 1, energyWeight: 0, pseudoDir: UPF_DIR, backend: 'ts' as const };
    const m = readModelData(model);
    const fw = path.join(t.dir, 'fw.zip');
    saveModelData(fw, { ...m, outputScaler: DataScaler.weightedMinmax(m.outputScaler, new Array(24).fill(2)) });
    await assert.rejects(finetuneModel({ ...common, modelFile: fw, out: path.join(t.dir, 'x.zip') }), (e: unknown) => e instanceof MalaError && /global minmax output scaler/.test(e.message));
    await assert.rejects(finetuneModel({ ...common, modelFile: model, stepAngstrom: 0, out: path.join(t.dir, 'x.zip') }), (e: unknown) => e instanceof MalaError && /--step must be positive/.test(e.message));
    const noForces = path.join(t.dir, 'nf');
    fs.mkdirSync(noForces);
    for (const ext of ['in.npy', 'out.npy', 'info.json']) fs.copyFileSync(path.join(data, `al.${ext}`), path.join(noForces, `al.${ext}`));
    fs.writeFileSync(path.join(noForces, 'al.pw.scf.out'), fs.readFileSync(AL_OUT, 'utf8').replace(/Forces acting on atoms/g, 'Forces elided'));
    await assert.rejects(finetuneModel({ ...common, modelFile: model, dataDir: noForces, out: path.join(t.dir, 'x.zip') }), (e: unknown) => e instanceof MalaError && /Forces acting on atoms/.test(e.message) && e.file === path.join(noForces, 'al.pw.scf.out'));
    assert.ok(!fs.existsSync(path.join(t.dir, 'x.zip')));
    // the frame with one key left out of its info.json
    const frameWithout = (dirName: string, key: string): string => {
      const dir = path.join(t.dir, dirName);
      fs.mkdirSync(dir);
      for (const ext of ['in.npy', 'out.npy', 'pw.scf.out']) fs.copyFileSync(path.join(data, `al.${ext}`), path.join(dir, `al.${ext}`));
      const info = JSON.parse(fs.readFileSync(path.join(data, 'al.info.json'), 'utf8'));
      delete info[key];
      fs.writeFileSync(path.join(dir, 'al.info.json'), JSON.stringify(info));
      return dir;
    };
    const noBand = frameWithout('nb', 'band_energy_dft_calculation');
    await assert.rejects(finetuneModel({ ...common, modelFile: model, dataDir: noBand, bandWeight: 1, out: path.join(t.dir, 'x.zip') }), (e: unknown) => e instanceof MalaError && /--band-weight needs QE's band energy/.test(e.message) && e.file === path.join(noBand, 'al.info.json'));
    const noFermi = frameWithout('nmu', 'fermi_energy_dft');
    await assert.rejects(finetuneModel({ ...common, modelFile: model, dataDir: noFermi, fermiWeight: 1, out: path.join(t.dir, 'x.zip') }), (e: unknown) => e instanceof MalaError && /--fermi-weight needs QE's Fermi energy/.test(e.message) && e.file === path.join(noFermi, 'al.info.json'));
    assert.ok(!fs.existsSync(path.join(t.dir, 'x.zip')), 'nothing written on bad input');
  });
});
