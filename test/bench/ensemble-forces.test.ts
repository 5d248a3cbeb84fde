import { strict as assert } from 'node:assert';
import { ensembleForceSplit, type FrameForces } from '../../bench/ensemble-forces';
import { seededUniform } from '../../src/util/seeded-uniform';

// zero-mean noise of a given rms (uniform: rms = width/√12), the same on every run
const rng = seededUniform;
const noise = (r: () => number, n: number, rmsEvPerA: number) => Array.from({ length: n }, () => (r() - 0.5) * Math.sqrt(12) * rmsEvPerA);

describe('bench/ensemble-forces: the members\' shared and own parts of the force error', () => {
  it('recovers a shared error and independent ones of known size, and the extrapolation to many members', () => {
    const r = rng(7);
    const frames: FrameForces[] = Array.from({ length: 20 }, (_, k) => {
      const qe = noise(r, 300, 0.5);
      const common = noise(r, 300, 0.2);
      const members = [0, 1, 2].map(() => {
        const own = noise(r, 300, 0.3);
        return qe.map((q, i) => q + common[i] + own[i]);
      });
      return { name: `f${k}`, qe, members, ensemble: qe.map((_, i) => (members[0][i] + members[1][i] + members[2][i]) / 3) };
    });
    const s = ensembleForceSplit('all', frames);
    assert.ok(Math.abs(s.commonEvPerA - 0.2) < 0.01, `common ${s.commonEvPerA}`);
    assert.ok(Math.abs(s.independentEvPerA - 0.3) < 0.01, `independent ${s.independentEvPerA}`);
    assert.ok(Math.abs(s.meanOfMembersRmseEvPerA - Math.sqrt(0.04 + 0.09 / 3)) < 0.01, `mean of 3 ${s.meanOfMembersRmseEvPerA}`);
    assert.ok(Math.abs(s.rmseTenMembersEvPerA - Math.sqrt(0.04 + 0.009)) < 0.01, `10 members ${s.rmseTenMembersEvPerA}`);
    assert.equal(s.rmseManyMembersEvPerA, s.commonEvPerA);
    s.memberRmseEvPerA.forEach((m) => assert.ok(Math.abs(m - Math.sqrt(0.04 + 0.09)) < 0.015, `member ${m}`));
  });

  it('α < 1 for forces too large: 1/1.5 for forces 1.5 times QE\'s', () => {
    const r = rng(3);
    const qe = noise(r, 600, 0.5);
    const big = qe.map((x) => 1.5 * x);
    const s = ensembleForceSplit('all', [{ name: 'f', qe, ensemble: big, members: [big, big.map((x) => x + 0.01)] }]);
    assert.ok(Math.abs(s.alpha - 1 / 1.5) < 1e-12, `α ${s.alpha}`);
    assert.ok(Math.abs(s.ensembleRmsEvPerA / s.qeRmsEvPerA - 1.5) < 1e-12);
    assert.ok(Math.abs(s.cosine - 1) < 1e-12, 'parallel forces');
    const turned = ensembleForceSplit('all', [{ name: 'f', qe, ensemble: qe.map((x) => -x), members: [qe, qe] }]);
    assert.ok(Math.abs(turned.cosine + 1) < 1e-12, 'opposite forces');
    assert.throws(() => ensembleForceSplit('one', [{ name: 'f', qe, ensemble: qe, members: [qe] }]), /two or more members/);
  });

  it('α < 1 for an error independent of QE\'s forces too: there the slope is 1 and α what independence predicts; forces too large have slope 1.5', () => {
    const r = rng(4);
    const qe = noise(r, 20000, 0.5);
    const noisy = qe.map((x, i) => x + 0.3 * Math.sin(1.7 * i + 0.3) + (r() - 0.5) * 0.2);
    const s = ensembleForceSplit('all', [{ name: 'f', qe, ensemble: noisy, members: [noisy, noisy.map((x) => x + 0.01)] }]);
    assert.ok(s.alpha < 0.85, `α ${s.alpha}`);
    assert.ok(Math.abs(s.slope - 1) < 0.02, `slope ${s.slope}`);
    assert.ok(Math.abs(s.alpha - s.alphaIfIndependent) < 0.02, `α ${s.alpha} against ${s.alphaIfIndependent}`);
    const big = qe.map((x) => 1.5 * x);
    const b = ensembleForceSplit('all', [{ name: 'f', qe, ensemble: big, members: [big, big] }]);
    assert.ok(Math.abs(b.slope - 1.5) < 1e-12, `slope ${b.slope}`);
    assert.ok(b.alpha < b.alphaIfIndependent - 0.1, 'too large: α below what an independent error of that size gives');
  });
});
