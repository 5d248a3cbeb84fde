/**
 * A model's energy reference (issue 18) in every consumer: the network's energy axis for a
 * structure is the model's grid shifted by s(n) = slope·(n − n₀), n the atoms per Å³.
 *
 * (a) predict: E_F moves by exactly s, the band and total energy by N_e·s, the density, −TS, the
 *     other energy terms and the forces stay; results.json and the summary say the shift;
 * (b) the stress with the reference is the strain derivative of the printed energy (central
 *     differences, float64 path, as test/engine/stress-consistency.test.ts), volumetric and shear;
 *     without the reference's term, or with its sign flipped, it is not;
 * (c) archives: format version 2 with a reference (read back equal), 1 without (still read), a
 *     damaged reference is one clear error;
 * (d) ensembles: a member with another reference is refused, the combined model keeps it;
 * (e) the tester: its errors against QE are predict's with the reference; against the snapshot's
 *     LDOS (on the model's grid as written) the same LDOS values on the shifted axis are N_e·s off.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { MalaError } from '../../src/errors';
import { readNpy, writeNpy } from '../../src/io/npy';
import { LdosModel, loadModel, readModelData, saveModelData, type ModelData } from '../../src/network/model';
import { combineEnsemble, ensembleMismatch } from '../../src/network/model-ensemble';
import { DataScaler } from '../../src/network/scalers';
import { Rng } from '../../src/network/rng';
import { formatPredictSummary, predictResultJson } from '../../src/results/views';
import { det3, type Atoms } from '../../src/structure/atoms';
import { readStructure, type StructureRead } from '../../src/structure/registry';
import { makeEnergyGrid } from '../../src/targets/energy-grid';
import { atomDensityPerA3, referenceStressEvPerA3, type EnergyReference } from '../../src/targets/energy-reference';
import { dosOnCommonEnergies } from '../../src/targets/dos-common-energies';
import { formatModelInfo, modelInfoJson, readModelInfo } from '../../src/workflow/model-info';
import { predict, type PredictOptions } from '../../src/workflow/predict';
import { testModel } from '../../src/workflow/tester';
import { makeModelData, randomArray } from '../network/synthetic';
import { repoRoot, tempDir } from '../helpers';
import { deformed, ecutrhoInGap } from '../engine/strain-helpers';

const alModel = path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip');
const alFrame = path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.in');
const alOut = path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.out');
const alPseudo = path.join(repoRoot, 'fixtures', 'al-fcc-qe');

/** slope 150 eV·Å³ (aluminium's is ≈ 170) and n₀ such that the shift is `shiftEv` for these atoms. */
function referenceFor(atoms: Pick<Atoms, 'symbols' | 'cellAngstrom'>, shiftEv: number): EnergyReference {
  const slopeEvA3 = 150;
  return { kind: 'atom-density', slopeEvA3, densityPerA3: atomDensityPerA3(atoms.symbols.length, atoms.cellAngstrom) - shiftEv / slopeEvA3, fit: { frames: 7, rmsResidualMeV: 12.5, source: 'test' } };
}

const withReference = (m: LdosModel, ref: EnergyReference, activations?: ModelData['spec']['activations']): LdosModel =>
  new LdosModel({ ...m.data, energyReference: ref, ...(activations ? { spec: { ...m.data.spec, activations } } : {}) }, `${m.source} (with an energy reference)`, { backend: 'ts' });
const relClose = (a: number, b: number, rel: number, what: string) => assert.ok(Math.abs(a - b) <= rel * Math.max(Math.abs(b), 1), `${what}: ${a} vs ${b} (Δ ${a - b})`);

describe('energy reference: the structure\'s shifted energy axis in every consumer', function () {
  this.timeout(300_000);

  it('(a) predict: E_F + s, E_band and E_total + N_e·s; density, −TS, other energy terms and forces unchanged; the JSON and summary say s', async () => {
    const read = readStructure(alFrame);
    const s = 0.2;
    const ref = referenceFor(read.atoms, s);
    const plainModel = loadModel(alModel, { backend: 'ts' });
    const refModel = withReference(plainModel, ref);
    const base = { structureRead: read, structureFile: alFrame, pseudoDir: alPseudo, forces: true };
    const plain = await predict({ ...base, model: plainModel });
    const shifted = await predict({ ...base, model: refModel });
    const ne = plain.electronsRequested;
    assert.equal(ne, 12);
    const sApplied = shifted.energyReference!.shiftEv;
    relClose(sApplied, s, 1e-12, 'the shift is s(n)');
    relClose(shifted.energyGrid.offsetEv, plain.energyGrid.offsetEv + s, 1e-12, 'the energy grid');
    relClose(shifted.fermiEnergyEv - plain.fermiEnergyEv, s, 1e-6, 'E_F moves by s');
    relClose(shifted.bandEnergyEv - plain.bandEnergyEv, ne * s, 1e-6, 'E_band moves by N_e·s');
    relClose(shifted.totalEnergy!.totalEnergyEv - plain.totalEnergy!.totalEnergyEv, ne * s, 1e-6, 'E_total moves by N_e·s');
    relClose(shifted.entropyContributionEv, plain.entropyContributionEv, 1e-6, '−TS');
    for (const k of ['densityElectrons', 'densityMinPerA3', 'densityMaxPerA3'] as const) relClose(shifted[k], plain[k], 1e-7, k);
    for (const [k, v] of Object.entries(plain.totalEnergy!.termsEv)) if (k !== 'e_band') relClose(shifted.totalEnergy!.termsEv[k], v, 1e-7, `energy term ${k}`);
    const fScale = Math.max(...plain.forcesEvPerA!.flat().map(Math.abs));
    assert.ok(fScale > 1e-3, 'the frame has forces');
    plain.forcesEvPerA!.forEach((f, i) => f.forEach((x, k) => assert.ok(Math.abs(shifted.forcesEvPerA![i][k] - x) <= 1e-6 * fScale, `atom ${i} axis ${k}: ${shifted.forcesEvPerA![i][k]} vs ${x}`)));
    // results.json and the summary
    assert.equal(predictResultJson(shifted).energy_reference_shift_ev, sApplied);
    assert.equal('energy_reference_shift_ev' in predictResultJson(plain), false);
    const lines = formatPredictSummary(shifted).split('\n').filter((l) => /^energy reference/.test(l));
    assert.equal(lines.length, 1, formatPredictSummary(shifted));
    assert.match(lines[0], /LDOS energies shifted by \+0\.200000 eV = 150\.0000 eV·Å³ × \(n 0\.\d{6} − n₀ 0\.\d{6}\) atoms\/Å³/);
    assert.doesNotMatch(formatPredictSummary(plain), /energy reference/);
  });

  it('(b) the stress with the reference is the strain derivative of the printed energy (volumetric and shear); without its term or with its sign flipped it is not', async () => {
    const r = readStructure(alFrame);
    const read: StructureRead = { ...r, atoms: deformed(r.atoms, [0.01, 0.03, -0.02, 0.015, -0.01, 0.025, 0.02, -0.015, 0.005]) };
    // smooth activations on the shipped weights, as stress-consistency.test.ts (the LeakyReLU's kinks make differences noisy)
    const model = withReference(loadModel(alModel, { backend: 'ts' }), referenceFor(read.atoms, 0.2), ['Tanh', 'Tanh', 'Sigmoid']);
    // h = 1.5e-5, half stress-consistency's: a volumetric strain's h² truncation error is 4.6e-4 eV at
    // 3e-5 and 1.1e-4 eV at 1.5e-5 (with or without the reference: it is the engine's energy's), of 272 eV
    const h = 1.5e-5;
    const base0: PredictOptions = { model, pseudoDir: alPseudo, float64Check: true, descriptorEngine: 'native' };
    const first = await predict({ ...base0, structureRead: read });
    const grid = first.gridShape as [number, number, number];
    const base: PredictOptions = { ...base0, grid, ecutrhoRy: ecutrhoInGap(read.atoms.cellAngstrom, grid, 80, h) };
    const at = await predict({ ...base, structureRead: read, stress: true });
    const volume = Math.abs(det3(read.atoms.cellAngstrom));
    const refPart = referenceStressEvPerA3(model.data.energyReference, at.electronsRequested, 4, read.atoms.cellAngstrom);
    // the directions: ε = t·D; dE/dt = V·Σ_ab σ_ab·D_ab
    const directions: [string, number[]][] = [
      ['volumetric', [1, 0, 0, 0, 1, 0, 0, 0, 1]],
      ['shear ε01', [0, 1, 0, 0, 0, 0, 0, 0, 0]],
    ];
    const along = (sigma: number[][], d: number[]) => volume * d.reduce((acc, x, k) => acc + x * sigma[Math.floor(k / 3)][k % 3], 0);
    const rows: string[] = [];
    let scale = 0;
    const errs = { with: 0, without: 0, flipped: 0 };
    for (const [name, d] of directions) {
      const e: number[] = [];
      for (const sgn of [1, -1]) {
        const p = await predict({ ...base, structureRead: { ...read, atoms: deformed(read.atoms, d.map((x) => sgn * h * x)) } });
        assert.equal(p.gVectorCount, at.gVectorCount, 'a G-vector crossed the sphere');
        e.push(p.totalEnergy!.totalEnergyEv);
      }
      const fd = (e[0] - e[1]) / (2 * h);
      const got = along(at.stressEvPerA3!, d);
      const ref = along(refPart, d);
      scale = Math.max(scale, Math.abs(fd));
      errs.with = Math.max(errs.with, Math.abs(fd - got));
      errs.without = Math.max(errs.without, Math.abs(fd - (got - ref)));
      errs.flipped = Math.max(errs.flipped, Math.abs(fd - (got - 2 * ref)));
      rows.push(`${name}: V·σ:D ${got.toFixed(6)} FD ${fd.toFixed(6)} eV (Δ ${Math.abs(fd - got).toExponential(2)}; the reference's part ${ref.toFixed(6)} eV)`);
    }
    const report = rows.join('\n');
    console.log(report.replace(/^/gm, '      '));
    const tol = 1e-6 * scale + 3e-5; // stress-consistency.test.ts's
    assert.ok(errs.with <= tol, report);
    assert.ok(errs.without > 100 * tol && errs.flipped > 100 * tol, `the reference's term matters: without ${errs.without}, flipped ${errs.flipped} eV\n${report}`);
    const sg = at.stressEvPerA3!;
    assert.ok(Math.abs(sg[0][1] - sg[1][0]) < 1e-12, 'σ is symmetric');
  });

  it('(c) archives: version 2 with a reference, read back equal; version 1 without, still read; a damaged reference is one clear error', () => {
    const t = tempDir();
    try {
      const m = makeModelData(3);
      const ref: EnergyReference = { kind: 'atom-density', slopeEvA3: 163.25, densityPerA3: 0.0602, fit: { frames: 9, rmsResidualMeV: 8.25, source: 'train --energy-reference' } };
      const withRef = path.join(t.dir, 'ref.zip');
      saveModelData(withRef, { ...m, energyReference: ref });
      const header = (file: string) => JSON.parse(Buffer.from(unzipSync(fs.readFileSync(file))['model.json']).toString('utf8'));
      assert.equal(header(withRef).formatVersion, 2);
      assert.deepEqual(readModelData(withRef).energyReference, ref);
      const plain = path.join(t.dir, 'plain.zip');
      saveModelData(plain, m);
      assert.equal(header(plain).formatVersion, 1);
      assert.equal(readModelData(plain).energyReference, undefined);
      assert.equal(header(alModel).formatVersion, 1, 'the shipped model is a version-1 archive');
      assert.equal(readModelData(alModel).energyReference, undefined);
      // model-info shows it
      const info = readModelInfo(withRef);
      assert.match(formatModelInfo(info), /^ {2}reference +shifted by s\(n\) = 163\.25 eV·Å³ × \(n − 0\.0602 atoms\/Å³\), n the structure's atoms per volume \(atom-density\); fitted to the Fermi energies of 9 training frames, rms residual 8\.3 meV \(train --energy-reference\)$/m);
      assert.deepEqual(modelInfoJson(info).energy_reference, { kind: 'atom-density', slope_ev_a3: 163.25, density_per_a3: 0.0602, fit: { frames: 9, rms_residual_mev: 8.25, source: 'train --energy-reference' } });
      assert.equal(modelInfoJson(readModelInfo(plain)).energy_reference, null);
      assert.doesNotMatch(formatModelInfo(readModelInfo(plain)), /reference +shifted/);
      // a damaged reference
      for (const bad of [{ kind: 'atom-density', slopeEvA3: 'x', densityPerA3: 0.06 }, { kind: 'pressure', slopeEvA3: 1, densityPerA3: 0.06 }, { kind: 'atom-density', slopeEvA3: 1, densityPerA3: -1 }]) {
        const files = unzipSync(fs.readFileSync(withRef));
        const j = JSON.parse(Buffer.from(files['model.json']).toString('utf8'));
        j.energyReference = bad;
        files['model.json'] = Buffer.from(JSON.stringify(j), 'utf8');
        const damaged = path.join(t.dir, 'damaged.zip');
        fs.writeFileSync(damaged, zipSync(files));
        assert.throws(() => readModelData(damaged), (e: unknown) => e instanceof MalaError && /the model's energyReference is not understood/.test(e.message) && e.file !== undefined, JSON.stringify(bad));
      }
    } finally {
      t.cleanup();
    }
  });

  it('(d) ensembles: a member with another (or no) reference is refused; the combined model keeps the reference', () => {
    const m = makeModelData(4);
    const ref: EnergyReference = { kind: 'atom-density', slopeEvA3: 150, densityPerA3: 0.06 };
    const a: ModelData = { ...m, energyReference: ref };
    const b: ModelData = { ...m, weights: m.weights.map((w) => Float32Array.from(w, (x) => x + 0.01)), energyReference: { ...ref, fit: { frames: 3, rmsResidualMeV: 1, source: 'other notes' } } };
    assert.equal(ensembleMismatch(a, b), undefined, 'the fit notes may differ');
    assert.match(ensembleMismatch(a, { ...b, energyReference: { ...ref, slopeEvA3: 151 } }) ?? '', /its energy reference \(atom-density reference, slope 151 eV·Å³, n₀ 0\.06 atoms\/Å³\) differs from atom-density reference, slope 150/);
    assert.match(ensembleMismatch(a, { ...b, energyReference: { ...ref, densityPerA3: 0.061 } }) ?? '', /energy reference .* differs/);
    assert.match(ensembleMismatch(a, { ...b, energyReference: undefined }) ?? '', /its energy reference \(no energy reference\) differs/);
    assert.match(ensembleMismatch({ ...a, energyReference: undefined }, b) ?? '', /differs from no energy reference/);
    assert.throws(() => combineEnsemble([{ file: 'a.zip', data: a }, { file: 'c.zip', data: { ...b, energyReference: undefined } }]), (e: unknown) => e instanceof MalaError && /energy reference/.test(e.message) && e.file === 'c.zip');
    const combined = combineEnsemble([{ file: 'a.zip', data: a }, { file: 'b.zip', data: b }]);
    assert.deepEqual(combined.energyReference, ref);
    assert.equal(combined.ensemble?.length, 2);
  });

  it('DOS on common energies: the same grid as it is; a shifted grid compared on the target energies inside it, interpolated linearly', () => {
    const g = makeEnergyGrid(-2, 0.5, 9);
    const f = (e: number) => 3 + 0.7 * e; // linear: interpolation is exact
    const dosOn = (grid: typeof g) => Float64Array.from({ length: grid.count }, (_, k) => f(grid.offsetEv + k * grid.spacingEv));
    const same = dosOnCommonEnergies({ grid: g, dosPerEv: dosOn(g) }, { grid: g, dosPerEv: dosOn(g) });
    assert.equal(same.energiesEv.length, 9);
    const shifted = makeEnergyGrid(-2 + 0.3, 0.5, 9);
    const c = dosOnCommonEnergies({ grid: shifted, dosPerEv: dosOn(shifted) }, { grid: g, dosPerEv: dosOn(g) });
    // target energies −2…2; the shifted grid spans −1.7…2.3: −1.5…2 are common (8 energies)
    assert.deepEqual(Array.from(c.energiesEv), [-1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2]);
    c.predictedPerEv.forEach((v, j) => assert.ok(Math.abs(v - c.targetPerEv[j]) < 1e-12, `${v} vs ${c.targetPerEv[j]}`));
    // a whole step: the values themselves
    const step = makeEnergyGrid(-1.5, 0.5, 9);
    const w = dosOnCommonEnergies({ grid: step, dosPerEv: [0, 1, 2, 3, 4, 5, 6, 7, 8] }, { grid: g, dosPerEv: dosOn(g) });
    assert.deepEqual(Array.from(w.predictedPerEv), [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("(e) the tester on a model with a reference: its errors vs QE are predict's; vs the snapshot's LDOS the same values on the shifted axis are N_e·s off", async () => {
    const t = tempDir();
    try {
      const atoms = readStructure(alOut).atoms;
      const s = 0.2;
      // a small random model (14 → 16 → 24 energies, −5…18 eV) whose DOS holds the Al cell's 12 electrons (as tester.test.ts)
      const m = makeModelData(11, [14, 16, 24]);
      m.energyGrid = makeEnergyGrid(-5, 1, 24);
      m.outputScaler = new DataScaler('minmax').fit(randomArray(new Rng(5), 50 * 24, 0, 0.1), 24);
      const plainFile = path.join(t.dir, 'plain.zip');
      saveModelData(plainFile, m);
      const refFile = path.join(t.dir, 'ref.zip');
      saveModelData(refFile, { ...m, energyReference: referenceFor(atoms, s) });
      const data = path.join(t.dir, 'data');
      fs.mkdirSync(data);
      fs.copyFileSync(alOut, path.join(data, 'snap.pw.scf.out'));
      const rng = new Rng(1);
      const desc = Float32Array.from({ length: 24 * 24 * 24 * 14 }, () => 10 * rng.uniform());
      writeNpy(path.join(data, 'snap.in.npy'), desc, [24, 24, 24, 14]);
      fs.writeFileSync(path.join(data, 'snap.info.json'), JSON.stringify({ band_energy_dft_calculation: 40.0 }));
      // the target: the plain model's LDOS of the same descriptors, on the model's grid (as generate writes QE's)
      const out = path.join(t.dir, 'pred');
      await predict({ structureFile: alOut, modelFile: plainFile, descriptorsFile: path.join(data, 'snap.in.npy'), outDir: out, writeLdos: true, pseudoDir: alPseudo, backend: 'ts' });
      const ldos = readNpy(path.join(out, 'ldos.npy'));
      writeNpy(path.join(data, 'snap.out.npy'), ldos.data as Float32Array, ldos.shape);

      const row = (await testModel({ modelFile: refFile, dataDir: data, pseudoDir: alPseudo, backend: 'ts' })).rows[0];
      const pred = await predict({ structureFile: path.join(data, 'snap.pw.scf.out'), modelFile: refFile, descriptorsFile: path.join(data, 'snap.in.npy'), pseudoDir: alPseudo, backend: 'ts' });
      assert.ok(Math.abs(pred.energyReference!.shiftEv - s) < 1e-9);
      assert.equal(row.energyReferenceShiftEv, pred.energyReference!.shiftEv);
      const n = 4;
      const close = (a: number | undefined, b: number, tol: number, what: string) => assert.ok(a !== undefined && Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
      close(row.fermiQeMeV, (pred.fermiEnergyEv - row.qe.fermiEnergyEv!) * 1000, 1e-6, 'E_F vs QE');
      close(row.bandQeMeVPerAtom, ((pred.bandEnergyEv - 40.0) * 1000) / n, 1e-6, 'band vs QE');
      close(row.totalQeMeVPerAtom, ((pred.totalEnergy!.totalEnergyEv - row.qe.totalEnergyEv!) * 1000) / n, 1e-6, 'total vs QE');
      // vs the target LDOS: the same values on an axis shifted by s, with the target's on the model's grid
      close(row.fermiMeV, s * 1000, 1e-3, 'E_F vs target');
      close(row.bandMeVPerAtom, (12 * s * 1000) / n, 1e-3, 'band vs target');
      close(row.totalMeVPerAtom, (12 * s * 1000) / n, 1e-3, 'total vs target');
      close(row.densityMapePercent, 0, 1e-4, 'density vs target');
    } finally {
      t.cleanup();
    }
  });
});


