import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { referenceDir, repoRoot, tempDir } from '../helpers';
import { loadPseudopotentials, normaliseFunctional, readUpf } from '../../src/qe/upf';
import { MalaError } from '../../src/errors';

const AL = path.join(repoRoot, 'fixtures', 'al-fcc-qe', 'Al.pz-vbc.UPF');

/** Write the arrays of a pseudopotential as a UPF v1 file (QE's old tagged text format). */
function writeUpf1(file: string, o: { element: string; z: number; functional: string; r: Float64Array; rab: Float64Array; nlcc?: Float64Array }): void {
  const block = (a: Float64Array): string => Array.from(a, (v, i) => v.toExponential(11) + ((i + 1) % 4 === 0 ? '\n' : ' ')).join('');
  fs.writeFileSync(
    file,
    [
      '<PP_INFO>\n converted for a test\n</PP_INFO>',
      '<PP_HEADER>',
      '   0                   Version Number',
      `  ${o.element}                    Element`,
      '   NC                  Norm - Conserving pseudopotential',
      `    ${o.nlcc ? 'T' : 'F'}                  Nonlinear Core Correction`,
      ` ${o.functional}   Exchange-Correlation functional`,
      `    ${o.z.toFixed(11)}      Z valence`,
      '</PP_HEADER>',
      `<PP_MESH>\n  <PP_R>\n${block(o.r)}\n  </PP_R>\n  <PP_RAB>\n${block(o.rab)}\n  </PP_RAB>\n</PP_MESH>`,
      o.nlcc ? `<PP_NLCC>\n${block(o.nlcc)}\n</PP_NLCC>` : '',
    ].join('\n'),
  );
}

describe('qe/upf', () => {
  it("reads QE's Al.pz-vbc.UPF (v2): Z 3, LDA-PZ, 171-point mesh, no core correction", () => {
    const pp = readUpf(AL);
    assert.equal(pp.format, 'upf2');
    assert.equal(pp.element, 'Al');
    assert.equal(pp.zValence, 3);
    assert.equal(pp.functional, 'pz');
    assert.equal(pp.rBohr.length, 171);
    assert.equal(pp.rabBohr.length, 171);
    assert.equal(pp.rhoCore, undefined);
    // logarithmic mesh: rab = r·dx with dx = 0.0625
    assert.ok(Math.abs(pp.rabBohr[100] / pp.rBohr[100] - 0.0625) < 1e-9);
  });

  it('reads the Be2 pseudopotential (v2, PBE, core correction of 0.909 e spread over the mesh)', function () {
    const pp = readUpf(path.join(referenceDir(this), 'Be.pbe-n-rrkjus_psl.1.0.0.UPF'));
    assert.equal(pp.functional, 'pbe');
    assert.equal(pp.zValence, 2);
    assert.equal(pp.rBohr.length, 1041);
    assert.ok(pp.rhoCore && Math.abs(pp.rhoCore[0] - 0.3355980447485125) < 1e-15);
  });

  it('reads UPF v1 with the same numbers as v2 (mesh, core charge, functional long form)', function () {
    const t = tempDir();
    try {
      const al = readUpf(AL);
      const nlcc = al.rBohr.map((r) => Math.exp(-r * r));
      const f = path.join(t.dir, 'Al.v1.UPF');
      writeUpf1(f, { element: 'Al', z: 3, functional: 'SLA  PZ   NOGX NOGC   PZ', r: al.rBohr, rab: al.rabBohr, nlcc });
      const v1 = readUpf(f);
      assert.equal(v1.format, 'upf1');
      assert.equal(v1.element, 'Al');
      assert.equal(v1.zValence, 3);
      assert.equal(v1.functional, 'pz');
      assert.equal(v1.rBohr.length, 171);
      for (let i = 0; i < 171; i++) {
        assert.ok(Math.abs(v1.rBohr[i] - al.rBohr[i]) <= 1e-11 * al.rBohr[i]);
        assert.ok(Math.abs((v1.rhoCore as Float64Array)[i] - nlcc[i]) <= 1e-11 * nlcc[i] + 1e-300);
      }
    } finally {
      t.cleanup();
    }
  });

  it('normalises functional names and refuses others', () => {
    assert.equal(normaliseFunctional(' SLA  PZ   NOGX NOGC'), 'pz');
    assert.equal(normaliseFunctional('SLA-PW-PBX-PBC'), 'pbe');
    assert.equal(normaliseFunctional('pbe'), 'pbe');
    assert.equal(normaliseFunctional('BLYP'), undefined);
    assert.equal(normaliseFunctional('PBESOL'), undefined);
  });

  it('missing, unreadable and malformed files give one MalaError naming the file', () => {
    const t = tempDir();
    try {
      const missing = path.join(t.dir, 'nope.UPF');
      assert.throws(() => readUpf(missing), (e: unknown) => e instanceof MalaError && e.file === missing && /not found/.test(e.message) && /--pseudo-dir/.test(e.fix ?? ''));
      const garbage = path.join(t.dir, 'Al.UPF');
      fs.writeFileSync(garbage, 'this is not a pseudopotential\n');
      assert.throws(() => readUpf(garbage), (e: unknown) => e instanceof MalaError && e.file === garbage && /PP_HEADER/.test(e.message));
      const truncated = path.join(t.dir, 'Al2.UPF');
      fs.writeFileSync(truncated, fs.readFileSync(AL, 'utf8').replace(/<PP_RAB>[\s\S]*<\/PP_RAB>/, ''));
      assert.throws(() => readUpf(truncated), /radial mesh/);
      assert.throws(() => readUpf(t.dir), (e: unknown) => e instanceof MalaError && e.file === t.dir && /is a folder/.test(e.message));
    } finally {
      t.cleanup();
    }
  });

  it('finds pseudopotentials by ATOMIC_SPECIES name or by species prefix, and says what is missing', () => {
    const dir = path.dirname(AL);
    assert.equal(loadPseudopotentials(['Al', 'Al'], dir).Al.zValence, 3);
    assert.equal(loadPseudopotentials(['Al'], dir, { Al: 'Al.pz-vbc.UPF' }).Al.element, 'Al');
    assert.throws(() => loadPseudopotentials(['Be'], dir), /no pseudopotential for Be in/);
    assert.throws(() => loadPseudopotentials(['Al'], '/nonexistent-dir'), /folder not readable/);
  });
});
