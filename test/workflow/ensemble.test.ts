/**
 * Ensembles of networks (issue 18 item 4): the archive, `mala-ts ensemble`, and predict's mean
 * LDOS and spread σ. Tiny random models (twojmax 4, 24 energies) on the 4-atom Al fixture at a
 * 20³ grid: each predict takes about a second.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unzipSync } from 'fflate';
import execa from 'execa';
import { runObservablesEngine } from '../../src/engine/engine';
import { qeEnergyStep } from '../../src/engine/energy-step';
import { sampleStd } from '../../src/engine/ensemble';
import { npyLdosSource } from '../../src/engine/npy-source';
import { readNpy, writeNpy } from '../../src/io/npy';
import { initParameters } from '../../src/network/mlp';
import { ensembleMembers, loadModel, readModelData, saveModelData, sha256, type ModelData } from '../../src/network/model';
import { combineEnsemble } from '../../src/network/model-ensemble';
import { Rng } from '../../src/network/rng';
import { DataScaler } from '../../src/network/scalers';
import { wholeGridLayout } from '../../src/qe/grid-layout';
import { loadPseudopotentials } from '../../src/qe/upf';
import { predictResultJson } from '../../src/results/views';
import { formatPredictSummary } from '../../src/results/views';
import { readStructure } from '../../src/structure/registry';
import { makeEnergyGrid } from '../../src/targets/energy-grid';
import { predict, type PredictOptions, type PredictResult } from '../../src/workflow/predict';
import { memberFile, runEnsembleTraining } from '../../src/workflow/train-ensemble';
import { makeModelData } from '../network/synthetic';
import { mpirunRootArgs, mpiTestEnv, repoRoot, tempDir } from '../helpers';

const cli = path.join(repoRoot, 'bin', 'mala-ts.js');
const fixture = path.join(repoRoot, 'fixtures', 'al-fcc-qe');
const structureFile = path.join(fixture, 'Al.pw.scf.out');
const grid: [number, number, number] = [20, 20, 20];

/** The small predict model (as writeSmallPredictModel) with the weights of `seed`: same scalers, other network. */
function memberData(seed: number): ModelData {
  const m = makeModelData(11, [14, 16, 24]);
  m.energyGrid = makeEnergyGrid(-5, 1, 24);
  if (seed !== 11) m.weights = initParameters(m.spec, new Rng(seed));
  m.provenance = { source: 'test', seed };
  return m;
}

function withMembers(members: ModelData[]): ModelData {
  return { ...members[0], ensemble: members.map((m) => ({ weights: m.weights, seed: (m.provenance as { seed: number }).seed })) };
}

describe('ensemble models: archive, mala-ts ensemble, predict with σ', function () {
  this.timeout(120000);
  let tmp: { dir: string; cleanup: () => void };
  const file = (name: string, m: ModelData) => {
    const f = path.join(tmp.dir, name);
    saveModelData(f, m);
    return f;
  };
  const run = (model: string, extra: Partial<PredictOptions> = {}): Promise<PredictResult> =>
    predict({ structureFile, modelFile: model, grid, temperatureK: 1000, electrons: 12, pseudoDir: fixture, ecutrhoRy: 80, backend: 'ts', ...extra });

  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.cleanup());

  it('archive: N members with seeds and weights sha256 round-trip; one member writes no ensemble field (the old format)', () => {
    const a = memberData(11);
    const b = memberData(12);
    const c = memberData(13);
    const f = file('abc.zip', withMembers([a, b, c]));
    const z = unzipSync(fs.readFileSync(f));
    const j = JSON.parse(Buffer.from(z['model.json']).toString('utf8'));
    assert.equal(j.ensemble.members.length, 3);
    assert.deepEqual(j.ensemble.members.map((m: { seed: number }) => m.seed), [11, 12, 13]);
    j.ensemble.members.forEach((m: { weights: { file: string; sha256: string } }) => assert.equal(sha256(z[m.weights.file]), m.weights.sha256));
    const back = readModelData(f);
    const mem = ensembleMembers(back);
    assert.equal(mem.length, 3);
    [a, b, c].forEach((m, k) => m.weights.forEach((w, i) => assert.deepEqual(Array.from(mem[k].weights[i]), Array.from(w))));
    assert.equal(loadModel(f).ensembleSize, 3);
    // one member: byte-identical to the archive of the plain model
    const one = file('one.zip', { ...a, ensemble: [{ weights: a.weights, seed: 11 }] });
    const plain = file('plain.zip', a);
    assert.equal(Buffer.from(unzipSync(fs.readFileSync(one))['model.json']).toString(), Buffer.from(unzipSync(fs.readFileSync(plain))['model.json']).toString());
    assert.equal(JSON.parse(Buffer.from(unzipSync(fs.readFileSync(plain))['model.json']).toString()).ensemble, undefined);
    assert.equal(loadModel(plain).ensembleSize, 1);
    // a damaged member is refused naming it
    const bad = unzipSync(fs.readFileSync(f));
    bad['weights.member-2.safetensors'][100] ^= 1;
    const { zipSync } = require('fflate') as typeof import('fflate');
    fs.writeFileSync(path.join(tmp.dir, 'bad.zip'), zipSync(bad));
    assert.throws(() => readModelData(path.join(tmp.dir, 'bad.zip')), /ensemble member 2: weights\.member-2\.safetensors does not match its checksum/);
    // a non-finite weight in a later member (its checksum intact) is refused at load, as in member 0
    const nanMember = memberData(13);
    nanMember.weights = nanMember.weights.map((w) => Float32Array.from(w));
    nanMember.weights[2][3] = NaN;
    const nanFile = file('nan-member.zip', withMembers([memberData(11), memberData(12), nanMember]));
    assert.throws(() => readModelData(nanFile), /non-finite weight \(NaN\)/);
  });

  it('an archive of one network predicts bit for bit as before; its JSON has no uncertainty', async () => {
    const a = memberData(11);
    const plain = await run(file('p.zip', a));
    const one = await run(file('o.zip', { ...a, ensemble: [{ weights: a.weights, seed: 11 }] }));
    for (const k of ['fermiEnergyEv', 'bandEnergyEv', 'entropyContributionEv', 'densityElectrons'] as const) assert.equal(one[k], plain[k], k);
    assert.equal(one.totalEnergy!.totalEnergyEv, plain.totalEnergy!.totalEnergyEv);
    assert.deepEqual(Array.from(one.dosPerEv), Array.from(plain.dosPerEv));
    assert.equal(plain.uncertainty, undefined);
    assert.equal('uncertainty' in predictResultJson(plain), false);
  });

  it('two identical members: σ = 0 and the results of one member, bit for bit', async () => {
    const a = memberData(11);
    const single = await run(file('s.zip', a));
    const twin = await run(file('twin.zip', withMembers([a, { ...a }])));
    assert.equal(twin.fermiEnergyEv, single.fermiEnergyEv);
    assert.equal(twin.bandEnergyEv, single.bandEnergyEv);
    assert.equal(twin.totalEnergy!.totalEnergyEv, single.totalEnergy!.totalEnergyEv);
    assert.deepEqual(Array.from(twin.dosPerEv), Array.from(single.dosPerEv));
    const u = twin.uncertainty!;
    assert.equal(u.size, 2);
    assert.equal(u.fermiEnergySigmaEv, 0);
    assert.equal(u.bandEnergySigmaEv, 0);
    assert.equal(u.totalEnergySigmaEv, 0);
  });

  it('two different members: the energies of the mean LDOS (computed here independently), σ = the std of each member\'s own predict', async () => {
    const a = memberData(11);
    const b = memberData(12);
    const fa = file('a.zip', a);
    const fb = file('b.zip', b);
    const ra = await run(fa, { outDir: path.join(tmp.dir, 'ra'), writeLdos: true });
    const rb = await run(fb, { outDir: path.join(tmp.dir, 'rb'), writeLdos: true });
    assert.ok(Math.abs(ra.bandEnergyEv - rb.bandEnergyEv) > 1e-3, 'the members differ');
    const ens = await run(file('ab.zip', withMembers([a, b])));
    const u = ens.uncertainty!;
    // σ: sample std (n − 1) of the members' own predictions
    assert.ok(Math.abs(u.fermiEnergySigmaEv - sampleStd([ra.fermiEnergyEv, rb.fermiEnergyEv])) < 1e-6);
    assert.ok(Math.abs(u.bandEnergySigmaEv - sampleStd([ra.bandEnergyEv, rb.bandEnergyEv])) < 1e-6);
    assert.ok(Math.abs(u.totalEnergySigmaEv! - sampleStd([ra.totalEnergy!.totalEnergyEv, rb.totalEnergy!.totalEnergyEv])) < 1e-6);
    assert.ok(Math.abs(u.bandEnergySigmaEv - Math.abs(ra.bandEnergyEv - rb.bandEnergyEv) / Math.SQRT2) < 1e-6, 'n − 1, not n');
    assert.ok(Math.abs(u.members[1].totalEnergyEv! - rb.totalEnergy!.totalEnergyEv) < 1e-6);

    // the reported values: the observables of the mean LDOS (float32, as the members' ldos.npy)
    const la = readNpy(path.join(tmp.dir, 'ra', 'ldos.npy'));
    const lb = readNpy(path.join(tmp.dir, 'rb', 'ldos.npy'));
    const mean = new Float32Array(la.data.length);
    for (let i = 0; i < mean.length; i++) mean[i] = (la.data[i] + lb.data[i]) / 2;
    const meanFile = path.join(tmp.dir, 'mean.npy');
    writeNpy(meanFile, mean, la.shape);
    const atoms = readStructure(structureFile).atoms;
    const ref = await runObservablesEngine({
      source: npyLdosSource(meanFile, a.energyGrid.count),
      energyGrid: a.energyGrid,
      temperatureK: 1000,
      electrons: 12,
      voxelVolumeA3: ens.voxelVolumeA3,
      gridShape: [...grid],
      layout: wholeGridLayout(grid),
      energy: qeEnergyStep({ atoms, grid, ecutrhoRy: 80, pseudopotentials: loadPseudopotentials(['Al'], fixture) }),
      ldosSource: 'mean',
    });
    assert.ok(Math.abs(ens.fermiEnergyEv - ref.observables.fermiEnergyEv) < 1e-6, `${ens.fermiEnergyEv} vs ${ref.observables.fermiEnergyEv}`);
    assert.ok(Math.abs(ens.bandEnergyEv - ref.observables.bandEnergyEv) < 1e-6);
    assert.ok(Math.abs(ens.totalEnergy!.totalEnergyEv - ref.observables.totalEnergy!.totalEnergyEv) < 1e-6);

    // JSON and summary carry it
    const j = predictResultJson(ens) as { uncertainty: Record<string, unknown> & { members: unknown[] } };
    assert.equal(j.uncertainty.ensemble_size, 2);
    assert.equal(j.uncertainty.fermi_energy_sigma_ev, u.fermiEnergySigmaEv);
    assert.equal(j.uncertainty.band_energy_sigma_ev, u.bandEnergySigmaEv);
    assert.ok(Math.abs((j.uncertainty.total_energy_sigma_mev_per_atom as number) - (1000 * u.totalEnergySigmaEv!) / 4) < 1e-9);
    assert.deepEqual(j.uncertainty.members.map((m) => (m as { seed: number }).seed), [11, 12]);
    assert.match(formatPredictSummary(ens), /uncertainty\s+ensemble of 2: σ\(E_total\) .* meV\/atom\), σ\(E_band\) .*, σ\(E_F\) [0-9.]+ meV/);

    // the LDOS spilled to disk (--ldos): the members' spill files give the same σ and are removed
    const spillDir = path.join(tmp.dir, 'spill');
    fs.mkdirSync(spillDir);
    const onDisk = await run(file('ab-disk.zip', withMembers([a, b])), { outDir: path.join(tmp.dir, 'rd'), writeLdos: true, tmpDir: spillDir });
    assert.equal(onDisk.ldosStorage, 'disk');
    assert.equal(onDisk.uncertainty!.totalEnergySigmaEv, u.totalEnergySigmaEv);
    assert.equal(onDisk.totalEnergy!.totalEnergyEv, ens.totalEnergy!.totalEnergyEv);
    assert.deepEqual(fs.readdirSync(spillDir), []);

    // forces with an ensemble: those of the energy it prints (the mean LDOS's; checked by finite
    // differences in ensemble-forces.test.ts); asking for them changes neither the energy nor σ
    const withForces = await run(file('ab2.zip', withMembers([a, b])), { forces: true });
    assert.equal(withForces.totalEnergy!.totalEnergyEv, ens.totalEnergy!.totalEnergyEv);
    assert.equal(withForces.uncertainty!.totalEnergySigmaEv, u.totalEnergySigmaEv);
    assert.equal(withForces.forcesEvPerA!.length, 4);
    assert.ok(withForces.forcesEvPerA!.flat().every(Number.isFinite));
  });

  it('mala-ts ensemble combines models and refuses mismatched members, one error each', async () => {
    const a = memberData(11);
    const fa = file('ea.zip', a);
    const fb = file('eb.zip', memberData(12));
    const out = path.join(tmp.dir, 'e.zip');
    const r = await execa('node', [cli, 'ensemble', '--out', out, fa, fb], { reject: false });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /ensemble of 2 networks \(seeds 11, 12\)/);
    assert.equal(loadModel(out).ensembleSize, 2);
    const one = await execa('node', [cli, 'ensemble', '--out', out, fa], { reject: false });
    assert.equal(one.exitCode, 1);
    assert.match(one.stderr, /two or more models/);

    const inp = (m: ModelData, f = 'x.zip') => ({ file: f, data: m });
    const arch = memberData(12);
    arch.spec = { layerSizes: [14, 17, 24], activations: ['LeakyReLU', null] };
    assert.throws(() => combineEnsemble([inp(a, 'a.zip'), inp(arch, 'arch.zip')]), /cannot add this model to the ensemble of a\.zip: its network 14→17→24/);
    const grid2 = memberData(12);
    grid2.energyGrid = makeEnergyGrid(-5, 1.1, 24);
    assert.throws(() => combineEnsemble([inp(a), inp(grid2)]), /its energy grid \(24 energies from -5 eV, spacing 1\.1 eV\) differs/);
    const scal = memberData(12);
    scal.inputScaler = new DataScaler('feature-wise-standard').fit(new Float32Array(14 * 10).map((_, i) => i % 7), 14);
    assert.throws(() => combineEnsemble([inp(a), inp(scal)]), /its input \(descriptor\) scaler differs/);
    const outScal = memberData(12);
    outScal.outputScaler = new DataScaler('minmax').fit(new Float32Array(24 * 10).map((_, i) => i % 5), 24);
    assert.throws(() => combineEnsemble([inp(a), inp(outScal)]), /its output \(LDOS\) scaler differs/);
    const desc = memberData(12);
    desc.descriptors = { ...desc.descriptors, rcutfac: 5 };
    assert.throws(() => combineEnsemble([inp(a), inp(desc)]), /its descriptor parameters differ/);
    assert.throws(() => combineEnsemble([inp(a), inp(memberData(11))]), /identical weights/);
    const ok = combineEnsemble([inp(a), inp(memberData(12)), inp(memberData(13))]);
    assert.deepEqual(ensembleMembers(ok).map((m) => m.seed), [11, 12, 13]);
  });
});

describe('ensemble under MPI: mpirun -np 2 predict gives the -np 1 values and σ', function () {
  this.timeout(300000);
  it('the members\' DOS sums are reduced over the ranks, their energy terms run on the slabs', async function () {
    if (execa.sync('sh', ['-c', 'command -v mpirun'], { reject: false }).exitCode !== 0) this.skip();
    const tmp = tempDir();
    try {
      const f = path.join(tmp.dir, 'ab.zip');
      saveModelData(f, withMembers([memberData(11), memberData(12), memberData(13)]));
      const runs = [];
      for (const np of [1, 2]) {
        const r = await execa('mpirun', [...mpirunRootArgs, '-np', String(np), 'node', cli, 'predict', structureFile, '--model', f, '--grid', '20,20,20', '--force-grid', '--temperature', '1000', '--electrons', '12', '--pseudo-dir', fixture, '--ecutrho', '80', '--json'], { env: mpiTestEnv, reject: false });
        assert.equal(r.exitCode, 0, r.stderr);
        runs.push(JSON.parse(r.stdout));
      }
      assert.equal(runs[1].mpi_ranks, 2);
      const close = (x: number, y: number, what: string) => assert.ok(Math.abs(x - y) <= 1e-8 * Math.max(1, Math.abs(x)), `${what}: ${x} vs ${y}`);
      for (const k of ['fermi_energy_ev', 'band_energy_ev', 'total_energy_ev']) close(runs[0][k], runs[1][k], k);
      for (const k of ['fermi_energy_sigma_ev', 'band_energy_sigma_ev', 'total_energy_sigma_ev']) {
        assert.ok(runs[0].uncertainty[k] > 1e-4, `${k} is a real spread`);
        close(runs[0].uncertainty[k], runs[1].uncertainty[k], k);
      }
    } finally {
      tmp.cleanup();
    }
  });
});

/** Two tiny snapshots (27 points, twojmax 2, 4 energies) and train options on them into dir/e.zip. */
function tinyTraining(dir: string) {
  const F = 5; // bispectrum twojmax 2
  const nE = 4;
  const n = 27;
  const snap = (name: string, shift: number) => {
    const x = new Float32Array(n * (F + 3)).map((_, i) => shift + Math.sin(i));
    const y = new Float32Array(n * nE).map((_, i) => 0.01 * (1 + Math.cos(i)));
    writeNpy(path.join(dir, `${name}.in.npy`), x, [3, 3, 3, F + 3]);
    writeNpy(path.join(dir, `${name}.out.npy`), y, [3, 3, 3, nE]);
    return { descriptors: path.join(dir, `${name}.in.npy`), ldos: path.join(dir, `${name}.out.npy`) };
  };
  const out = path.join(dir, 'e.zip');
  const opts = { training: [snap('a', 0)], validation: [snap('b', 0.5)], energyGrid: makeEnergyGrid(-1, 0.5, nE), twojmax: 2, hiddenLayers: [6], epochs: 1, batchSize: 8, learningRate: 1e-3, seed: 7, out };
  // the same as command-line arguments of mala-ts train (out left to the caller)
  const cliArgs = ['train', '--descriptors', opts.training[0].descriptors, '--ldos', opts.training[0].ldos, '--validation', `${opts.validation[0].descriptors}:${opts.validation[0].ldos}`,
    '--energy-grid=-1,0.5,4', '--twojmax', '2', '--layers', '6', '--epochs', '2', '--batch-size', '8', '--learning-rate', '1e-3', '--seed', '7'];
  return { opts, out, cliArgs };
}

describe('mala-ts train --ensemble N', function () {
  this.timeout(120000);
  it('trains N members with seeds seed, seed+1, … (each kept), one archive; a rerun keeps the members', async () => {
    const t = tempDir();
    try {
      const { opts, out } = tinyTraining(t.dir);
      const r = await runEnsembleTraining(opts, 3);
      assert.deepEqual(r.seeds, [7, 8, 9]);
      const m = readModelData(out);
      assert.deepEqual(ensembleMembers(m).map((x) => x.seed), [7, 8, 9]);
      assert.notDeepEqual(Array.from(ensembleMembers(m)[0].weights[0]), Array.from(ensembleMembers(m)[1].weights[0]));
      const mtime = fs.statSync(memberFile(out, 0)).mtimeMs;
      const skipped: boolean[] = [];
      await runEnsembleTraining(opts, 3, undefined, { onMember: (_k, _f, s) => skipped.push(s) });
      assert.deepEqual(skipped, [true, true, true]);
      assert.equal(fs.statSync(memberFile(out, 0)).mtimeMs, mtime);
      await assert.rejects(runEnsembleTraining(opts, 1), /--ensemble needs 2 or more members/);
    } finally {
      t.cleanup();
    }
  });

  // one BLAS thread in both runs (--np sets it for its ranks); np 3 on a 2-core machine needs oversubscribe
  const weightsOf = (f: string) => ensembleMembers(readModelData(f)).map((m) => ({ seed: m.seed, weights: m.weights.map((w) => Array.from(w)) }));

  it('--np 2: the members dealt out over the ranks (1 and 3 on rank 0, 2 on rank 1) are those of one process, bit for bit; one archive; --np 3 for 2 members: the idle rank waits', async () => {
    const t = tempDir();
    try {
      const { cliArgs } = tinyTraining(t.dir);
      const serial = path.join(t.dir, 'serial', 'e.zip');
      const ranks = path.join(t.dir, 'ranks', 'e.zip');
      const one = await execa('node', [cli, ...cliArgs, '--ensemble', '3', '--out', serial], { env: mpiTestEnv, reject: false });
      assert.equal(one.exitCode, 0, one.stderr);
      const two = await execa('node', [cli, ...cliArgs, '--ensemble', '3', '--np', '2', '--out', ranks], { env: mpiTestEnv, reject: false });
      assert.equal(two.exitCode, 0, two.stderr);
      assert.match(two.stdout, /ensemble of 3 networks \(seeds 7, 8, 9, on 2 MPI ranks\) written to/);
      assert.match(two.stderr, /member 1 of 3 \(seed 7\) on rank 0/);
      assert.match(two.stderr, /member 2 of 3 \(seed 8\) on rank 1/);
      assert.match(two.stderr, /member 3 of 3 \(seed 9\) on rank 0/);
      assert.match(two.stderr, /member 2: epoch 2: train loss/);
      assert.doesNotMatch(two.stderr, /member [13] of 3 \(seed \d+\) on rank 1|member 2 of 3 \(seed \d+\) on rank 0/);
      const a = weightsOf(serial);
      const b = weightsOf(ranks);
      assert.deepEqual(b.map((m) => m.seed), [7, 8, 9]);
      assert.deepEqual(b, a);
      for (let k = 0; k < 3; k++) assert.deepEqual(weightsOf(memberFile(ranks, k)), [a[k]]);
      assert.notDeepEqual(a[0].weights, a[1].weights);
      // more ranks than members: the idle rank says so and still joins the closing barrier
      const idle = path.join(t.dir, 'idle', 'e.zip');
      const three = await execa('node', [cli, ...cliArgs, '--ensemble', '2', '--np', '3', '--out', idle], { env: mpiTestEnv, reject: false });
      assert.equal(three.exitCode, 0, three.stderr);
      assert.equal((three.stderr.match(/3 MPI ranks for 2 members: 1 rank\(s\) have no member and wait/g) ?? []).length, 1, three.stderr);
      assert.deepEqual(weightsOf(idle), a.slice(0, 2));
    } finally {
      t.cleanup();
    }
  });

  it('under MPI: one network on several ranks is refused; a member failing on rank 1 ends the job with one message and no archive', async () => {
    const t = tempDir();
    try {
      const { cliArgs, out } = tinyTraining(t.dir);
      const single = await execa('mpirun', [...mpirunRootArgs, '-np', '2', 'node', cli, ...cliArgs, '--out', out], { env: mpiTestEnv, reject: false });
      assert.notEqual(single.exitCode, 0);
      assert.match(single.stderr, /train runs on 2 MPI ranks but trains one network/);
      assert.match(single.stderr, /--ensemble M/);
      assert.equal(fs.existsSync(out), false);
      // member 2's file is a folder: rank 1, which trains it, fails; rank 0 trains 1 and 3 and would wait
      fs.mkdirSync(memberFile(out, 1));
      const failed = await execa('node', [cli, ...cliArgs, '--ensemble', '3', '--np', '2', '--out', out], { env: mpiTestEnv, reject: false });
      assert.notEqual(failed.exitCode, 0);
      assert.equal((failed.stderr.match(/mala-ts: error on MPI rank/g) ?? []).length, 1, failed.stderr);
      assert.match(failed.stderr, /error on MPI rank 1: .*member-2\.zip/);
      assert.equal(fs.existsSync(out), false);
    } finally {
      t.cleanup();
    }
  });
});

describe('the shipped ensemble (models/al-fcc-298K-ensemble): σ grows out of the domain', function () {
  this.timeout(180000);
  it('the example MD frame: σ(E_total) a few meV/atom; the same frame strained 1 %: several times larger', async () => {
    const { strainedPwInput } = require('../../bench/al-ensemble') as typeof import('../../bench/al-ensemble');
    const t = tempDir();
    try {
      const example = path.join(repoRoot, 'examples', 'al4-298K.pw.scf.in');
      const strained = path.join(t.dir, 'al4-strained-1pct.pw.scf.in');
      fs.writeFileSync(strained, strainedPwInput(fs.readFileSync(example, 'utf8'), 0.01));
      const model = loadModel(path.join(repoRoot, 'models', 'al-fcc-298K-ensemble', 'model.zip'));
      assert.equal(model.ensembleSize, 5);
      const inside = (await predict({ structureFile: example, model })).uncertainty!;
      const outside = (await predict({ structureFile: strained, model })).uncertainty!;
      const perAtom = (ev: number) => (1000 * ev) / 4;
      // measured (RECIPE.md): 2.7 → 42 meV/atom (E_total), 1.6 → 16 meV (E_F)
      assert.ok(perAtom(inside.totalEnergySigmaEv!) > 0.5 && perAtom(inside.totalEnergySigmaEv!) < 10, `inside ${perAtom(inside.totalEnergySigmaEv!)}`);
      assert.ok(outside.totalEnergySigmaEv! > 5 * inside.totalEnergySigmaEv!, `σ(E_total) ${perAtom(outside.totalEnergySigmaEv!)} vs ${perAtom(inside.totalEnergySigmaEv!)} meV/atom`);
      assert.ok(outside.fermiEnergySigmaEv > 5 * inside.fermiEnergySigmaEv, `σ(E_F) ${outside.fermiEnergySigmaEv} vs ${inside.fermiEnergySigmaEv} eV`);
      // pw's output carries σ as a comment line; tstress and tprnfor give the ensemble's stress and forces
      const { runPwDropIn } = require('../../src/workflow/pw') as typeof import('../../src/workflow/pw');
      const text = fs.readFileSync(example, 'utf8');
      const pw = await runPwDropIn({ inputText: text.replace(/^\s*tprnfor\s*=.*$/m, ''), inputFile: 'al4.in', model });
      assert.match(pw.output, new RegExp(`mala-ts uncertainty: ensemble of 5: σ\\(E_total\\) ${inside.totalEnergySigmaEv!.toFixed(6)} eV`));
      assert.match(pw.output, /total   stress/, 'tstress: the stress block');
      assert.doesNotMatch(pw.output, /Forces acting on atoms|the stress is not predicted/, 'no forces asked, none written; the stress is');
      const withForces = await runPwDropIn({ inputText: text, inputFile: 'al4.in', model });
      assert.match(withForces.output, /Forces acting on atoms \(cartesian axes, Ry\/au\):[\s\S]*Total force =/);
      assert.match(withForces.output, /total   stress/);
    } finally {
      t.cleanup();
    }
  });
});
