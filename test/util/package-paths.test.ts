import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addonBuildCommand, isSourceCheckout, packagePath, packageRoot, packageVersion } from '../../src/util/package-paths';
import { repoRoot as bindingsRoot } from '../../bindings/native-paths';
import { addonPath } from '../../bindings/torch';
import { repoRoot } from '../helpers';

describe('package-paths', () => {
  it('finds the checkout as the package root (also what bindings/ call repoRoot)', () => {
    assert.equal(packageRoot(), repoRoot);
    assert.equal(bindingsRoot, repoRoot);
    assert.equal(packagePath('lammps-inputs', 'bispectrum-grid.in'), path.join(repoRoot, 'lammps-inputs', 'bispectrum-grid.in'));
  });

  it('reads the version from package.json', () => {
    assert.equal(packageVersion(), JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version);
  });

  it('knows a checkout from an installed package, and says how to build the addons in each', () => {
    assert.equal(isSourceCheckout(), true);
    assert.equal(addonBuildCommand(), "run 'make setup'");
  });

  it('puts the libtorch addon under the package root unless MALA_TS_TORCH_ADDON says otherwise', function () {
    if (process.env.MALA_TS_TORCH_ADDON) this.skip();
    assert.equal(addonPath, path.join(repoRoot, 'bindings', 'torch', 'build', 'Release', 'mala_torch.node'));
  });
});
