/**
 * Two DOS on different energy grids, brought to common energies for a per-energy comparison
 * (`mala-ts test` with a model that has an energy reference, issue 18): the prediction sits on the
 * model's grid shifted by s(n), the snapshot's LDOS (`.out.npy`) on the model's grid as written.
 *
 * The choice: the target's own energies that lie inside the prediction's span, with the
 * prediction linearly interpolated to them (the DOS is broadened by ≥ the grid spacing, so it is
 * smooth on the grid's scale; a shift of whole grid steps interpolates nothing). The |s| at the
 * grid's ends is left out. Identical grids: the arrays as they are, every energy.
 */
import { energiesEv, type EnergyGrid } from './energy-grid';

export interface DosOnGrid {
  grid: EnergyGrid;
  dosPerEv: ArrayLike<number>;
}

export interface CommonEnergyDos {
  energiesEv: Float64Array;
  predictedPerEv: Float64Array;
  targetPerEv: Float64Array;
}

export function dosOnCommonEnergies(predicted: DosOnGrid, target: DosOnGrid): CommonEnergyDos {
  const p = predicted.grid;
  const t = target.grid;
  if (predicted.dosPerEv.length !== p.count || target.dosPerEv.length !== t.count) throw new Error('dosOnCommonEnergies: a DOS does not match its grid');
  const te = energiesEv(t);
  if (p.offsetEv === t.offsetEv && p.spacingEv === t.spacingEv && p.count === t.count) {
    return { energiesEv: te, predictedPerEv: Float64Array.from(predicted.dosPerEv), targetPerEv: Float64Array.from(target.dosPerEv) };
  }
  // (a rounding's worth of slack at the ends: a shift of whole steps keeps the end energies)
  const slack = 1e-9 * p.spacingEv;
  const lo = p.offsetEv - slack;
  const hi = p.offsetEv + (p.count - 1) * p.spacingEv + slack;
  const keep: number[] = [];
  for (let k = 0; k < te.length; k++) if (te[k] >= lo && te[k] <= hi) keep.push(k);
  const out: CommonEnergyDos = { energiesEv: new Float64Array(keep.length), predictedPerEv: new Float64Array(keep.length), targetPerEv: new Float64Array(keep.length) };
  keep.forEach((k, j) => {
    const x = Math.min(Math.max((te[k] - p.offsetEv) / p.spacingEv, 0), p.count - 1);
    const i = Math.min(Math.floor(x), p.count - 2);
    const f = x - i;
    out.energiesEv[j] = te[k];
    out.predictedPerEv[j] = (1 - f) * predicted.dosPerEv[i] + f * predicted.dosPerEv[i + 1];
    out.targetPerEv[j] = target.dosPerEv[k];
  });
  return out;
}
