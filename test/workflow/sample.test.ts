import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, tempDir } from '../helpers';
import { parseQeInput } from '../../src/structure/qe-input';
import { fermiDiracDegaussRy, kpointShift, sampleSnapshots, shiftedMeshCard, withElectronTemperature } from '../../src/workflow/sample';
import { rydbergToKelvin } from '../../src/structure/units';
import { MalaError } from '../../src/errors';

describe('workflow/sample: EAM MD frames → pw.x inputs (LAMMPS)', function () {
  this.timeout(60000);
  const template = path.join(repoRoot, 'qe-inputs', 'al-fcc-298K.pw.scf.in');

  it('writes decorrelated, displaced frames into the template, reproducibly for a seed; k and nbnd follow the supercell', () => {
    const t = tempDir();
    try {
      const run = (dir: string) => sampleSnapshots({ qeTemplate: template, outDir: dir, prefix: 'Al', frames: 2, equilibrationPs: 0.2, intervalPs: 0.2, seed: 7, supercell: [2, 1, 1] });
      const a = run(path.join(t.dir, 'a'));
      const b = run(path.join(t.dir, 'b'));
      assert.equal(a.length, 2);
      const q = parseQeInput(fs.readFileSync(a[0].file, 'utf8'), a[0].file);
      assert.equal(q.atoms.symbols.length, 8);
      assert.ok(Math.abs(q.atoms.cellAngstrom[0][0] - 8.1) < 1e-9);
      assert.equal(q.namelists.system.nbnd, 24);
      assert.match(fs.readFileSync(a[0].file, 'utf8'), /K_POINTS automatic\n4 8 8 0 0 0/);
      // thermal displacements of a few hundredths to tenths of an Å from the lattice sites
      let maxDisp = 0;
      for (const p of q.atoms.positionsAngstrom) {
        for (const x of p) {
          const d = Math.abs(x / 2.025 - Math.round(x / 2.025)) * 2.025;
          maxDisp = Math.max(maxDisp, d);
        }
      }
      assert.ok(maxDisp > 0.01 && maxDisp < 0.6, `max displacement ${maxDisp}`);
      assert.notDeepEqual(a[0].atoms.positionsAngstrom, a[1].atoms.positionsAngstrom);
      assert.equal(fs.readFileSync(a[1].file, 'utf8'), fs.readFileSync(b[1].file, 'utf8'));
      assert.ok(fs.existsSync(path.join(t.dir, 'a', 'Al.md.json')) && fs.existsSync(path.join(t.dir, 'a', 'Al.frames.xyz')));
      assert.throws(() => sampleSnapshots({ qeTemplate: template, outDir: t.dir, prefix: 'x', potential: '/nope.eam.alloy' }), (e: unknown) => e instanceof MalaError && /potential/.test(e.message));
    } finally {
      t.cleanup();
    }
  });

  it('sets the lattice constant, the ionic and the electronic temperature of the frames and records them', () => {
    const t = tempDir();
    try {
      const frames = sampleSnapshots({ qeTemplate: template, outDir: t.dir, prefix: 'hot', frames: 1, equilibrationPs: 0.2, intervalPs: 0.2, seed: 11, latticeAngstrom: 3.97, temperatureK: 900, electronTemperatureK: 900 });
      const text = fs.readFileSync(frames[0].file, 'utf8');
      const q = parseQeInput(text, frames[0].file);
      assert.ok(Math.abs(q.atoms.cellAngstrom[0][0] - 3.97) < 1e-9 && Math.abs(q.atoms.cellAngstrom[2][2] - 3.97) < 1e-9);
      assert.equal(q.namelists.system.smearing, 'fermi-dirac');
      assert.ok(Math.abs(rydbergToKelvin(Number(q.namelists.system.degauss)) - 900) < 1e-6, `degauss ${q.namelists.system.degauss}`);
      assert.equal((text.match(/^\s*degauss\s*=/gm) ?? []).length, 1);
      const md = JSON.parse(fs.readFileSync(path.join(t.dir, 'hot.md.json'), 'utf8'));
      assert.equal(md.latticeAngstrom, 3.97);
      assert.equal(md.temperatureK, 900);
      assert.equal(md.electronTemperatureK, 900);
      // without --electron-temperature the template's degauss (298 K) stays
      const cold = sampleSnapshots({ qeTemplate: template, outDir: t.dir, prefix: 'cold', frames: 1, equilibrationPs: 0.2, intervalPs: 0.2, seed: 11, temperatureK: 900 });
      assert.equal(parseQeInput(fs.readFileSync(cold[0].file, 'utf8'), cold[0].file).namelists.system.degauss, 0.0018874);
      assert.throws(() => sampleSnapshots({ qeTemplate: template, outDir: t.dir, prefix: 'x', latticeAngstrom: -4 }), (e: unknown) => e instanceof MalaError && /lattice constant/.test(e.message));
      assert.throws(() => sampleSnapshots({ qeTemplate: template, outDir: t.dir, prefix: 'x', electronTemperatureK: 0 }), (e: unknown) => e instanceof MalaError && /electronic temperature/.test(e.message));
    } finally {
      t.cleanup();
    }
  });

  it('turns any smearing into Fermi–Dirac at the given electronic temperature', () => {
    assert.equal(fermiDiracDegaussRy(298), 0.001887419067);
    const mv = "&SYSTEM\n  ibrav = 0\n  occupations = 'fixed'\n  smearing = 'mv', degauss = 0.02\n/\n";
    const out = withElectronTemperature(mv, 100);
    assert.match(out, /occupations = 'smearing'/);
    assert.match(out, /smearing = 'fermi-dirac'/);
    assert.doesNotMatch(out, /'mv'|0\.02/);
    assert.ok(Math.abs(rydbergToKelvin(Number(/degauss = ([\d.e-]+)/.exec(out)![1])) - 100) < 1e-6);
  });

  it('with kpointOffset random writes each frame its own seeded, shifted k-mesh as an explicit list', () => {
    const t = tempDir();
    try {
      const run = (dir: string) => sampleSnapshots({ qeTemplate: template, outDir: dir, prefix: 'k', frames: 2, equilibrationPs: 0.2, intervalPs: 0.2, seed: 5, supercell: [2, 1, 1], kpointOffset: 'random' });
      const a = run(path.join(t.dir, 'a'));
      const b = run(path.join(t.dir, 'b'));
      const text = fs.readFileSync(a[0].file, 'utf8');
      assert.doesNotMatch(text, /K_POINTS automatic/);
      const lines = text.split('\n');
      const at = lines.findIndex((l) => /^K_POINTS crystal/.test(l));
      assert.ok(at > 0);
      assert.equal(Number(lines[at + 1]), 4 * 8 * 8);
      const first = lines[at + 2].trim().split(/\s+/).map(Number);
      const shift = a[0].kpointShift!;
      assert.deepEqual(first.slice(0, 3).map((x) => +x.toFixed(8)), [shift[0] / 4, shift[1] / 8, shift[2] / 8].map((x) => +x.toFixed(8)));
      assert.ok(shift.every((x) => x >= 0 && x < 1));
      assert.notDeepEqual(a[0].kpointShift, a[1].kpointShift);
      assert.equal(text, fs.readFileSync(b[0].file, 'utf8'));
      assert.equal(parseQeInput(text, a[0].file).atoms.symbols.length, 8);
      assert.equal(lines.length - at - 2 >= 256, true);
      assert.throws(() => sampleSnapshots({ qeTemplate: template, outDir: t.dir, prefix: 'x', kpointOffset: 'half' as 'random' }), (e: unknown) => e instanceof MalaError && /offset/.test(e.message));
    } finally {
      t.cleanup();
    }
  });

  it('with closestBelowAngstrom keeps only frames with a close pair, records it, and gives up with a clear error', () => {
    const t = tempDir();
    // the shortest distance by brute force over the 27 neighbouring images (orthorhombic cells here)
    const bruteClosest = (pos: number[][], cell: number[][]) => {
      let best = Infinity;
      for (let i = 0; i < pos.length; i++) {
        for (let j = 0; j < pos.length; j++) {
          for (const n of [-1, 0, 1].flatMap((x) => [-1, 0, 1].flatMap((y) => [-1, 0, 1].map((z) => [x, y, z])))) {
            if (i === j && n.every((c) => c === 0)) continue;
            const d = [0, 1, 2].map((k) => pos[j][k] + n[0] * cell[0][k] + n[1] * cell[1][k] + n[2] * cell[2][k] - pos[i][k]);
            best = Math.min(best, Math.hypot(d[0], d[1], d[2]));
          }
        }
      }
      return best;
    };
    try {
      const opts = { qeTemplate: template, prefix: 'close', frames: 2, equilibrationPs: 0.2, intervalPs: 0.5, seed: 5, supercell: [2, 1, 1] as [number, number, number], temperatureK: 800, latticeAngstrom: 4.03 };
      const free = sampleSnapshots({ ...opts, outDir: path.join(t.dir, 'free') });
      const close = sampleSnapshots({ ...opts, outDir: path.join(t.dir, 'close'), closestBelowAngstrom: 2.45 });
      for (const f of [...free, ...close]) {
        const q = parseQeInput(fs.readFileSync(f.file, 'utf8'), f.file);
        assert.ok(Math.abs(bruteClosest(q.atoms.positionsAngstrom, q.atoms.cellAngstrom) - f.closestAngstrom) < 1e-5, `${f.file}: ${f.closestAngstrom}`);
      }
      assert.ok(close.every((f) => f.closestAngstrom < 2.45), close.map((f) => f.closestAngstrom).join(' '));
      // the MD ran on past frames without a close pair: later steps than the unselected run's
      assert.ok(close[1].step > free[1].step, `steps ${close[1].step} vs ${free[1].step}`);
      const md = JSON.parse(fs.readFileSync(path.join(t.dir, 'close', 'close.md.json'), 'utf8'));
      assert.equal(md.closestBelowAngstrom, 2.45);
      assert.equal(md.intervalsRun, (close[1].step - md.equilibrationSteps) / md.intervalSteps);
      assert.match(fs.readFileSync(close[0].file, 'utf8'), /closest pair 2\.\d{3} Å \(selected: < 2\.45 Å\)/);
      // no frame of a 4.03 Å fcc cell has a pair at 1 Å: one error naming what was found, nothing left behind
      const out = path.join(t.dir, 'none');
      assert.throws(() => sampleSnapshots({ ...opts, outDir: out, closestBelowAngstrom: 1, maxIntervals: 5 }), (e: unknown) => e instanceof MalaError && /found 0 of 2 frames .* closer than 1 Å in 5 MD intervals/.test(e.message));
      assert.equal(fs.existsSync(out), false);
      assert.throws(() => sampleSnapshots({ ...opts, outDir: out, closestBelowAngstrom: -1 }), (e: unknown) => e instanceof MalaError && /closest-below/.test(e.message));
      assert.throws(() => sampleSnapshots({ ...opts, outDir: out, maxIntervals: 10 }), (e: unknown) => e instanceof MalaError && /--max-intervals limits the search of --closest-below/.test(e.message));
      assert.equal(fs.existsSync(out), false);
    } finally {
      t.cleanup();
    }
  });

  it('shifted mesh: crystal coordinates (i + s)/n with equal weights; the shift depends only on seed and frame', () => {
    assert.deepEqual(shiftedMeshCard([2, 1, 1], [0.5, 0, 0.25]), ['K_POINTS crystal', '2', '  0.2500000000  0.0000000000  0.2500000000 1', '  0.7500000000  0.0000000000  0.2500000000 1']);
    assert.deepEqual(kpointShift(3, 1), kpointShift(3, 1));
    assert.notDeepEqual(kpointShift(3, 1), kpointShift(3, 2));
    assert.notDeepEqual(kpointShift(3, 1), kpointShift(4, 1));
  });
});
