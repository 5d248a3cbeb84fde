/**
 * The stress is the derivative of the printed energy (issue 16): central differences of predict's
 * total energy under a homogeneous strain r → r·(I + ε) of cell and atoms (fractional coordinates
 * and the grid's shape fixed) against predict's stress·V, through the whole chain (descriptors'
 * strain adjoint, network VJP, LDOS adjoint with the self-consistent Fermi level, the volume
 * element, Hartree/XC/core/Ewald strain terms), in the float64 checking path. The cells are made
 * triclinic by a shear first. Smooth activations on the shipped weights (as forces-consistency):
 * the shipped LeakyReLU's kinks would make differences noisy.
 *
 * The density cutoff is moved (≤ a few %) to a gap of the G-sphere, so that no G-vector crosses it
 * under the strains (the energy jumps there, as QE's). h = 3e-5: the differences' truncation error
 * is h²-like and large on the diagonal (Al ε00: Δ 2.0e-3, 2.2e-4, 2.0e-5 eV of 198 eV at h = 3e-4,
 * 1e-4, 3e-5; off-diagonal 1.5e-6 at 1e-4); the core form factor's |G|² shells (keyed at 1e-8
 * Bohr⁻², energy-terms.ts) add ~1e-5 eV of noise at this h on Be2. Tolerance: 1e-6 of the largest
 * |∂E/∂ε| plus 3e-5 eV: 2.3e-4 eV on the 4-atom Al cell (V ≈ 66 Å³: 3.5e-6 eV/Å³ = 6e-4 GPa),
 * 3.9e-5 eV on Be2 (16 Å³: 4e-4 GPa). A missing term (the volume part, the descriptors' part, one
 * density term) or a flipped sign is ≥ 1e-2 of the scale and fails.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { LdosModel, loadModel } from '../../src/network/model';
import { readStructure, type StructureRead } from '../../src/structure/registry';
import { predict, type PredictOptions } from '../../src/workflow/predict';
import { det3 } from '../../src/structure/atoms';
import { referenceDir, repoRoot } from '../helpers';
import { deformed, ecutrhoInGap } from './strain-helpers';

const alModel = path.join(repoRoot, 'models', 'al-fcc-298K', 'model.zip');
const alFrame = path.join(repoRoot, 'fixtures', 'al-forces', 'Al4_298K_6.pw.scf.in');
const alPseudo = path.join(repoRoot, 'fixtures', 'al-fcc-qe');

function withActivations(m: LdosModel, activations: LdosModel['data']['spec']['activations']): LdosModel {
  return new LdosModel({ ...m.data, spec: { ...m.data.spec, activations } }, `${m.source} (smooth test variant)`, { backend: 'ts' });
}

const single = (ab: number, t: number): number[] => Array.from({ length: 9 }, (_, k) => (k === ab ? t : 0));


/** Asserts V·σ_ab = ∂E/∂ε_ab (central differences, h) for the listed components; returns a report. */
async function check(base0: PredictOptions, read: StructureRead, components: number[], h: number, ecutrhoNearRy: number): Promise<string> {
  const first = await predict({ ...base0, structureRead: read });
  const grid = first.gridShape as [number, number, number];
  const base: PredictOptions = { ...base0, grid, ecutrhoRy: ecutrhoInGap(read.atoms.cellAngstrom, grid, ecutrhoNearRy, h) };
  const at = await predict({ ...base, structureRead: read, stress: true });
  const volume = Math.abs(det3(read.atoms.cellAngstrom));
  const rows: string[] = [];
  let scale = 0;
  let worst = 0;
  for (const ab of components) {
    const e: number[] = [];
    for (const s of [1, -1]) {
      const r = await predict({ ...base, structureRead: { ...read, atoms: deformed(read.atoms, single(ab, s * h)) } });
      assert.equal(r.gVectorCount, at.gVectorCount, 'a G-vector crossed the sphere');
      e.push(r.totalEnergy!.totalEnergyEv);
    }
    const fd = (e[0] - e[1]) / (2 * h);
    const got = at.stressEvPerA3![Math.floor(ab / 3)][ab % 3] * volume;
    scale = Math.max(scale, Math.abs(fd));
    worst = Math.max(worst, Math.abs(fd - got));
    rows.push(`ε${Math.floor(ab / 3)}${ab % 3}: V·σ ${got.toFixed(6)} FD ${fd.toFixed(6)} eV (Δ ${Math.abs(fd - got).toExponential(2)})`);
  }
  const report = rows.join('\n');
  assert.ok(scale > 0.1, `the stress is not trivially zero:\n${report}`);
  assert.ok(worst <= 1e-6 * scale + 3e-5, report);
  const s = at.stressEvPerA3!;
  assert.ok(Math.abs(s[0][1] - s[1][0]) < 1e-12 && Math.abs(s[0][2] - s[2][0]) < 1e-12, 'σ is symmetric');
  return report;
}

const shear = [0.01, 0.03, -0.02, 0.015, -0.01, 0.025, 0.02, -0.015, 0.005];

describe('stress: the strain derivative of the printed energy (finite differences, float64 path)', function () {
  this.timeout(900_000);

  it('smooth network on a sheared (triclinic) thermal 4-atom Al frame: 6 components', async () => {
    const model = withActivations(loadModel(alModel, { backend: 'ts' }), ['Tanh', 'Tanh', 'Sigmoid']);
    const r = readStructure(alFrame);
    const read = { ...r, atoms: deformed(r.atoms, shear) };
    const base: PredictOptions = { model, pseudoDir: alPseudo, float64Check: true, descriptorEngine: 'native' };
    console.log((await check(base, read, [0, 4, 8, 1, 5, 6], 3e-5, 80)).replace(/^/gm, '      '));
  });

  it("Be2, MALA's model weights with smooth activations (PBE, core correction), sheared: 4 components", async function () {
    const be2 = referenceDir(this);
    const r = readStructure(path.join(be2, 'Be_snapshot0.out'));
    const read = { ...r, atoms: deformed(r.atoms, shear) };
    const model = withActivations(loadModel(path.join(be2, 'Be_model.zip'), { backend: 'ts' }), ['Tanh', 'Sigmoid']);
    const base: PredictOptions = { model, pseudoDir: be2, float64Check: true, descriptorEngine: 'native' };
    console.log((await check(base, read, [0, 8, 1, 7], 3e-5, 160)).replace(/^/gm, '      '));
  });
});
