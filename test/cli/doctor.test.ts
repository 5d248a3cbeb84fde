import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import execa from 'execa';
import { repoRoot } from '../helpers';

const cli = path.join(repoRoot, 'bin', 'mala-ts.js');

describe('mala-ts doctor', () => {
  it('reports every native component present on a set-up machine (--json)', () => {
    const r = execa.sync('node', [cli, 'doctor', '--json'], { reject: false });
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { component: string; ok: boolean; detail: string }[] };
    const missing = report.checks.filter((c) => !c.ok).map((c) => `${c.component}: ${c.detail}`);
    assert.deepEqual(missing, [], 'components missing after setup');
    assert.equal(report.ok, true);
    assert.equal(r.exitCode, 0);
    const lammps = report.checks.find((c) => c.component === 'LAMMPS library');
    assert.match(lammps!.detail, /version 20250204/);
    assert.match(lammps!.detail, /sna\/grid yes/);
  });

  it('names the NN backend in use and why: libtorch when its addon loads, else the TS network and the reason', () => {
    const backend = (env: Record<string, string>) => {
      const r = execa.sync('node', [cli, 'doctor', '--json'], { reject: false, env: { MALA_TS_BACKEND: 'auto', ...env } });
      return (JSON.parse(r.stdout) as { checks: { component: string; ok: boolean; detail: string }[] }).checks.find((c) => c.component === 'NN backend');
    };
    assert.equal(backend({})?.detail, 'torch (libtorch addon loaded)');
    const fallback = backend({ MALA_TS_TORCH_ADDON: '/nonexistent/mala_torch.node' });
    assert.match(fallback!.detail, /^ts \(plain-TypeScript network, about 20x slower; libtorch addon unavailable: \/nonexistent\/mala_torch\.node does not exist/);
  });

  it('exits non-zero and names the fix when LAMMPS cannot be found', () => {
    const r = execa.sync('node', [cli, 'doctor'], { reject: false, env: { MALA_TS_LAMMPS_LIB: '/nonexistent/liblammps.so', MALA_TS_CACHE: '/nonexistent-cache' } });
    assert.equal(r.exitCode, 1);
    assert.match(r.stdout, /LAMMPS library\s+MISSING/);
    assert.match(r.stdout, /MALA_TS_LAMMPS_LIB/);
  });
});
