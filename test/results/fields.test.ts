import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { MalaError } from '../../src/errors';
import { formatPwOutput, PwOutputInput } from '../../src/io/pw-output';
import { formatSummary as ioFormatSummary, observablesJson } from '../../src/io/results';
import { fmt, observableFields, predictFields, resultFields, ResultField } from '../../src/results/fields';
import { calculatorProperty, calculatorPropertyNames, formatPredictSummary, formatSummary, predictResultJson, pwOutputValues, resultToJson } from '../../src/results/views';
import type { Mat3, Vec3 } from '../../src/structure/atoms';
import { evToRy, kTEv } from '../../src/structure/units';
import { implementedProperties } from '../../src/workflow/calculator';
import type { ObservablesResult } from '../../src/workflow/observables';
import type { PredictResult } from '../../src/workflow/predict';

// ---- oracles: the hand-written mappings as they were before the field table (commit 1f86f61) ----

function oldObservablesJson(r: ObservablesResult): Record<string, unknown> {
  const out: Record<string, unknown> = {
    fermi_energy_ev: r.fermiEnergyEv,
    fermi_energy_is_self_consistent: r.fermiEnergyIsSelfConsistent,
    band_energy_ev: r.bandEnergyEv,
    entropy_contribution_ev: r.entropyContributionEv,
    number_of_electrons: r.numberOfElectrons,
    number_of_electrons_requested: r.electronsRequested,
    density_electrons: r.densityElectrons,
    density_min_per_a3: r.densityMinPerA3,
    density_max_per_a3: r.densityMaxPerA3,
    temperature_k: r.temperatureK,
    energy_grid: { offset_ev: r.energyGrid.offsetEv, spacing_ev: r.energyGrid.spacingEv, count: r.energyGrid.count },
    energies_ev: Array.from(r.energiesEv),
    dos_per_ev: Array.from(r.dosPerEv),
    grid_shape: r.gridShape,
    voxel_volume_a3: r.voxelVolumeA3,
    ldos: r.ldosSource,
    warnings: r.warnings,
    outputs: r.outputs,
    timings_s: r.timingsS,
  };
  if (r.structureFile) out.structure = r.structureFile;
  if (r.fermiEnergyDftEv !== undefined) out.fermi_energy_dft_ev = r.fermiEnergyDftEv;
  if (r.totalEnergy) {
    out.total_energy_ev = r.totalEnergy.totalEnergyEv;
    out.energy_contributions_ev = r.totalEnergy.termsEv;
  }
  return out;
}

function oldPredictJson(r: PredictResult): Record<string, unknown> {
  return {
    ...oldObservablesJson(r),
    model: r.modelFile,
    atom_count: r.atomCount,
    species: r.species,
    grid_source: r.gridSource,
    ldos_storage: r.ldosStorage,
    planes_per_slab: r.planesPerSlab,
    block_count: r.blockCount,
    max_block_points: r.maxBlockPoints,
    memory_budget_mb: r.memoryBudgetMb,
    peak_rss_mb: r.peakRssMb,
    mpi_ranks: r.ranks,
    peak_rss_max_rank_mb: r.peakRssMaxRankMb,
    descriptor_blocks: r.descriptorBlocks,
    warnings: r.warnings,
  };
}

function oldFormatSummary(r: ObservablesResult): string {
  const rows: [string, string][] = [
    ['LDOS', `${r.ldosSource}  (grid ${r.gridShape.join('×')}, ${r.energyGrid.count} energies ${r.energiesEv[0]}…${r.energiesEv[r.energiesEv.length - 1]} eV)`],
    ['temperature', `${r.temperatureK.toFixed(4)} K  (kT = ${fmt(kTEv(r.temperatureK), 6)} eV)`],
    ['electrons', `${fmt(r.electronsRequested, 6)} requested, N(E_F) = ${fmt(r.numberOfElectrons, 9)}`],
    [r.fermiEnergyIsSelfConsistent ? 'Fermi energy (self-consistent)' : 'Fermi energy (given)', `${fmt(r.fermiEnergyEv, 6)} eV${r.fermiEnergyDftEv !== undefined ? `  (DFT printed ${r.fermiEnergyDftEv} eV)` : ''}`],
    ['band energy', `${fmt(r.bandEnergyEv, 6)} eV`],
    ['entropy contribution −TS', `${fmt(r.entropyContributionEv, 6)} eV`],
    ['density', `∫n dV = ${fmt(r.densityElectrons, 6)} electrons, n in [${fmt(r.densityMinPerA3, 5)}, ${fmt(r.densityMaxPerA3, 5)}] 1/Å³`],
  ];
  if (r.totalEnergy) {
    rows.push(['total energy', `${fmt(r.totalEnergy.totalEnergyEv, 6)} eV`]);
    for (const [k, v] of Object.entries(r.totalEnergy.termsEv)) rows.push([`  ${k}`, `${fmt(v, 6)} eV`]);
  }
  for (const [k, v] of Object.entries(r.outputs)) rows.push([`wrote ${k}`, v]);
  for (const w of r.warnings) rows.push(['warning', w]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

function oldFormatPredictSummary(r: PredictResult): string {
  const stages = ['descriptors_s', 'network_s', 'dos_s', 'fermi_s', 'density_s', 'total_energy_s', 'outputs_s', 'total_s'];
  const t = stages.filter((k) => r.timingsS[k] !== undefined).map((k) => `${k.replace(/_s$/, '')} ${r.timingsS[k].toFixed(2)} s`);
  const head = `structure    ${r.structureFile}  (${r.atomCount} atoms: ${r.species.join(', ')}; grid ${r.gridShape.join('×')} from ${r.gridSource})\nmodel        ${r.modelFile}\n`;
  const ranks = r.ranks > 1 ? `${r.ranks} MPI ranks, largest rank peak ${r.peakRssMaxRankMb.toFixed(0)} MB; ` : '';
  const tail = `timings      ${t.join(' | ')}\nmemory       ${ranks}peak ${r.peakRssMb.toFixed(0)} MB (budget ${r.memoryBudgetMb} MB; LDOS kept ${r.ldosStorage === 'memory' ? 'in memory' : 'on disk'}; ${r.blockCount} blocks of ≤ ${r.maxBlockPoints} points)\n`;
  return head + oldFormatSummary(r) + tail + r.warnings.map((w) => `warning: ${w}\n`).join('');
}

function oldCalculatorResults(r: PredictResult): Record<string, unknown> {
  const total = r.totalEnergy;
  return {
    energy: total?.totalEnergyEv,
    free_energy: total?.totalEnergyEv,
    fermi_level: r.fermiEnergyEv,
    band_energy: r.bandEnergyEv,
    entropy_contribution: r.entropyContributionEv,
    energy_contributions: total ? { ...total.termsEv } : undefined,
    number_of_electrons: r.numberOfElectrons,
    dos: { energiesEv: r.energiesEv, dosPerEv: r.dosPerEv },
    // (issue 16 added forces: a copy of predict's rows, undefined without --forces)
    forces: r.forcesEvPerA?.map((f) => [...f]),
  };
}

function oldPwValues(r: PredictResult): Record<string, unknown> {
  const total = r.totalEnergy!;
  return {
    electrons: r.electronsRequested,
    grid: r.gridShape,
    gVectorCount: r.gVectorCount,
    xcFunctional: r.xcFunctional,
    fermiEnergyEv: r.fermiEnergyEv,
    termsEv: total.termsEv,
    totalEnergyEv: total.totalEnergyEv,
    modelName: path.basename(r.modelFile),
  };
}

// ---- a realistic result: the Be2 snapshot-0 prediction's shape and magnitudes ----

function be2Prediction(): PredictResult {
  const energies = Float64Array.from({ length: 11 }, (_, i) => -5 + 2.5 * i);
  const dos = Float64Array.from([0, 0.0012, 0.21, 0.53, 0.77, 0.91, 1.04, 1.2, 1.31, 1.18, 0.97]);
  return {
    fermiEnergyEv: 7.803584917162546,
    fermiEnergyIsSelfConsistent: true,
    bandEnergyEv: -12.346210394755315,
    entropyContributionEv: -0.0028711395047810145,
    numberOfElectrons: 4.000000000012,
    electronsRequested: 4,
    densityElectrons: 3.9999999987,
    densityMinPerA3: 0.000431,
    densityMaxPerA3: 0.2381,
    temperatureK: 298,
    energyGrid: { offsetEv: -5, spacingEv: 2.5, count: 11 },
    energiesEv: energies,
    dosPerEv: dos,
    gridShape: [18, 18, 27],
    pointCount: 18 * 18 * 27,
    voxelVolumeA3: 0.003614,
    ldosSource: 'predicted by /data/Be_model.zip',
    structureFile: '/data/Be_snapshot0.out',
    fermiEnergyDftEv: 7.7997,
    totalEnergy: {
      totalEnergyEv: -274.15432151,
      termsEv: { e_band: -12.346, e_rho_times_v_hxc: 21.51, e_hartree: 5.12, e_xc: -35.9, e_ewald: -252.55, e_entropy: -0.00287 },
    },
    warnings: ['the structure has 2 atoms; the model was trained on 2', 'LDOS kept on disk'],
    outputs: { density: '/out/density.cube', dos: '/out/dos.csv', plot: '/out/dos.svg', results: '/out/results.json' },
    timingsS: { descriptors_s: 1.234, network_s: 0.5, dos_s: 0.01, fermi_s: 0.001, density_s: 0.02, total_energy_s: 0.3, outputs_s: 0.2, total_s: 2.6 },
    modelFile: '/data/Be_model.zip',
    atomCount: 2,
    species: ['Be'],
    gridSource: 'the QE output',
    ldosStorage: 'memory',
    planesPerSlab: 18,
    blockCount: 1,
    maxBlockPoints: 8748,
    memoryBudgetMb: 4096,
    peakRssMb: 412.7,
    ranks: 1,
    planeRange: [0, 18],
    peakRssMaxRankMb: 412.7,
    descriptorBlocks: { windowed: 0, wholeCell: 1 },
    gVectorCount: 2953,
    xcFunctional: 'PBE',
  };
}

/** The same result with every optional part missing, a given Fermi energy, and two ranks. */
function sparsePrediction(): PredictResult {
  const r = be2Prediction();
  delete r.structureFile;
  delete r.fermiEnergyDftEv;
  delete r.totalEnergy;
  delete r.descriptorBlocks;
  delete r.gVectorCount;
  delete r.xcFunctional;
  return { ...r, fermiEnergyIsSelfConsistent: false, warnings: [], outputs: {}, ranks: 2, peakRssMaxRankMb: 500.2, ldosStorage: 'disk' };
}

/** What computeObservables returns: no predict fields. */
function observablesOnly(r: PredictResult): ObservablesResult {
  const keep = new Set(observableFields.map((f) => f.key).concat(['totalEnergy']));
  return Object.fromEntries(Object.entries(r).filter(([k]) => keep.has(k))) as unknown as ObservablesResult;
}

/** Equal values and equal key order, nested objects included (what a results.json diff sees). */
function assertSameJson(actual: unknown, expected: unknown): void {
  assert.deepStrictEqual(actual, expected);
  assert.equal(JSON.stringify(actual, null, 2), JSON.stringify(expected, null, 2));
}

describe('results: one field table drives JSON, summary, calculator and pw output', () => {
  const variants: [string, () => PredictResult][] = [
    ['full Be2 prediction', be2Prediction],
    ['no structure, total energy, DFT Fermi energy or descriptor blocks; two ranks', sparsePrediction],
    ['empty structure name', () => ({ ...be2Prediction(), structureFile: '' })],
  ];

  for (const [name, make] of variants) {
    it(`${name}: predictResultJson and resultToJson give the old predictJson, key order included`, () => {
      const r = make();
      assertSameJson(predictResultJson(r), oldPredictJson(r));
      assertSameJson(resultToJson(r), oldPredictJson(r));
      assert.deepEqual(Object.keys(predictResultJson(r)), Object.keys(oldPredictJson(r)));
    });

    it(`${name}: observablesJson (io/results) gives the old observables JSON, for a predict and an observables result`, () => {
      const r = make();
      assertSameJson(observablesJson(r), oldObservablesJson(r));
      const o = observablesOnly(r);
      assertSameJson(observablesJson(o), oldObservablesJson(o));
      assertSameJson(resultToJson(o), oldObservablesJson(o));
    });

    it(`${name}: the summaries are the old text byte for byte`, () => {
      const r = make();
      assert.equal(ioFormatSummary(r), oldFormatSummary(r));
      assert.equal(formatSummary(observablesOnly(r)), oldFormatSummary(r));
      assert.equal(formatPredictSummary(r), oldFormatPredictSummary(r));
    });

    it(`${name}: the calculator's properties are the old ones`, () => {
      const r = make();
      const now = Object.fromEntries(implementedProperties.map((p) => [p, calculatorProperty(r, p)]));
      assert.deepStrictEqual(now, oldCalculatorResults(r));
      assert.deepEqual(Object.keys(now), Object.keys(oldCalculatorResults(r)));
    });
  }

  it('small numbers in the summary use exponents as before (fmt)', () => {
    const r = { ...be2Prediction(), entropyContributionEv: -2.5e-7, densityMinPerA3: 0 };
    assert.equal(formatPredictSummary(r), oldFormatPredictSummary(r));
    assert.match(formatSummary(r), /^entropy contribution −TS +-2\.50000e-7 eV$/m);
  });

  it('every row with a JSON key shows up in results.json, each key once; every result field has a row', () => {
    // the fixture predates --device, the domain check and the energy reference; those rows are written only when known
    const r: PredictResult = {
      ...be2Prediction(),
      device: { device: 'cpu', requested: 'auto', reason: 'auto: the libtorch addon was built against a CPU-only libtorch' },
      domain: { known: true, inDomain: true, score: 1, scoreLimit: 6, worstFeature: 'B[0]', pointsOutsideFraction: 0, findings: [] },
      modelSha256: 'ab',
      malaTsVersion: '0.1.0',
      forcesEvPerA: [[0.1, -0.2, 0.3], [-0.1, 0.2, -0.3]],
      stressEvPerA3: [[0.01, 0, 0], [0, 0.01, 0], [0, 0, 0.01]],
      energyReference: { shiftEv: 0.2, densityPerA3: 0.0602, reference: { kind: 'atom-density', slopeEvA3: 150, densityPerA3: 0.060067 } },
      uncertainty: { size: 2, seeds: [1, 2], members: [{ fermiEnergyEv: 1, bandEnergyEv: 2, entropyContributionEv: 0, totalEnergyEv: 3 }, { fermiEnergyEv: 1.1, bandEnergyEv: 2.1, entropyContributionEv: 0, totalEnergyEv: 3.1 }], fermiEnergySigmaEv: 0.07, bandEnergySigmaEv: 0.07, totalEnergySigmaEv: 0.07, atomCount: 2 },
    };
    const json = predictResultJson(r);
    assert.deepEqual(json.forces_ev_per_angstrom, r.forcesEvPerA);
    const keys = resultFields.flatMap((f) => (f.jsonKey ? [f.jsonKey] : []));
    assert.equal(new Set(keys).size, keys.length, 'JSON keys are unique');
    for (const k of keys) assert.ok(k in json, `${k} is in results.json`);
    assert.deepEqual(Object.keys(json), keys, 'results.json has exactly the rows, in table order');
    const rowKeys = new Set(resultFields.map((f) => f.key));
    // totalEnergy is read by its two rows: totalEnergyEv and energyContributionsEv
    for (const k of Object.keys(r)) if (k !== 'totalEnergy') assert.ok(rowKeys.has(k), `result field ${k} has a row in src/results/fields.ts`);
    assert.ok(rowKeys.has('totalEnergyEv') && rowKeys.has('energyContributionsEv'));
    for (const f of resultFields) assert.ok(f.label.length > 0 && typeof f.unit === 'string', `${f.key} has a label and a unit`);
    assert.equal(predictFields.every((f) => !observableFields.includes(f as never)), true);
  });

  it('the calculator properties are exactly the table\'s calculator names; an unknown one is a MalaError', () => {
    assert.deepEqual([...calculatorPropertyNames()].sort(), [...implementedProperties].sort());
    const r = be2Prediction();
    assert.equal(calculatorProperty(r, 'band_energy'), r.bandEnergyEv);
    assert.equal(calculatorProperty(r, 'energy'), r.totalEnergy!.totalEnergyEv);
    assert.notEqual(calculatorProperty(r, 'energy_contributions'), r.totalEnergy!.termsEv, 'a copy, as before');
    assert.equal(calculatorProperty(r, 'forces'), undefined, 'no forces asked, none given');
    assert.deepEqual(calculatorProperty({ ...r, forcesEvPerA: [[1, 2, 3]] }, 'forces'), [[1, 2, 3]]);
    assert.throws(() => calculatorProperty(r, 'stress' as never), (e: unknown) => e instanceof MalaError && /'stress' is not available/.test(e.message));
  });

  it('pw output: the values are the table\'s, the text is the old text, and the ! line is the table\'s total energy', () => {
    const r = be2Prediction();
    assert.deepStrictEqual({ ...pwOutputValues(r) }, oldPwValues(r));
    const rest: Omit<PwOutputInput, keyof ReturnType<typeof pwOutputValues>> = {
      atoms: {
        cellAngstrom: [[3.4, 0, 0], [-1.7, 2.9445, 0], [0, 0, 5.3]] as Mat3,
        positionsAngstrom: [[0, 0, 0], [0, 1.963, 2.65]] as Vec3[],
        symbols: ['Be', 'Be'],
        pbc: [true, true, true],
      },
      inputName: 'scf.in',
      programVersion: 'test',
      startedAt: new Date(2024, 0, 5, 9, 7, 3),
      finishedAt: new Date(2024, 0, 5, 9, 8, 0),
      cpuSeconds: 1,
      wallSeconds: 2,
    };
    const text = formatPwOutput({ ...rest, ...pwOutputValues(r) });
    assert.equal(text, formatPwOutput({ ...rest, ...(oldPwValues(r) as ReturnType<typeof pwOutputValues>) }));
    const bang = /^!\s+total energy\s+=\s+(\S+) Ry$/m.exec(text);
    assert.ok(bang);
    assert.equal(bang[1], evToRy(calculatorProperty(r, 'energy') as number).toFixed(8));
    const ewald = /^\s+ewald contribution\s+=\s+(\S+) Ry$/m.exec(text);
    assert.equal(ewald![1], evToRy(r.totalEnergy!.termsEv.e_ewald).toFixed(8));
    assert.match(text, new RegExp(`the Fermi energy is\\s+${r.fermiEnergyEv.toFixed(8)} ev`));
    assert.throws(() => pwOutputValues(sparsePrediction()), (e: unknown) => e instanceof MalaError && /total energy/.test(e.message));
  });

  it('adding a quantity is one row: it reaches the JSON (last key) and the summary', () => {
    const r = be2Prediction();
    const extra: ResultField<PredictResult> = { key: 'spreadEv', value: () => 0.0125, unit: 'eV', label: 'ensemble spread', jsonKey: 'spread_ev', summary: {} };
    const fields = [...resultFields, extra];
    const json = resultToJson(r, fields);
    assert.deepEqual(Object.keys(json).slice(-1), ['spread_ev']);
    assert.equal(json.spread_ev, 0.0125);
    // a default line after the energies, before the files and warnings
    const lines = formatSummary(r, fields).split('\n');
    const at = lines.findIndex((l) => /^ensemble spread +0\.012500 eV$/.test(l));
    assert.ok(at > lines.findIndex((l) => l.startsWith('total energy')) && at < lines.findIndex((l) => l.startsWith('wrote')), lines.join('\n'));
  });
});
