/**
 * pw.x's ionic BFGS (QE 6.7 Modules/bfgs_module.f90, fixed cell) so that a relax takes the steps
 * pw.x users know: a trust radius that bounds the largest atomic displacement, steps rejected
 * until the energy (first Wolfe) condition holds, the rejected step's length re-estimated by
 * quadratic interpolation, the inverse Hessian updated by damped BFGS, the history reset on an
 * uphill or too short step.
 *
 * Why this and not FIRE: each step is a full ML prediction, so the number of force evaluations is
 * what costs; BFGS with a line search needs far fewer near a minimum, uses the energy we have, and
 * honours pw.x's own &IONS knobs (trust_radius_ini/min/max, w_1, w_2) with pw.x's meaning.
 *
 * Coordinates: Cartesian, Bohr; energy Ry; gradient = −force (Ry/Bohr). pw.x works in crystal
 * coordinates with the inverse metric as the starting inverse Hessian, which is the same method
 * as Cartesian coordinates with the identity (BFGS is invariant under that linear change of
 * variables), and its scaled norm is the largest atomic displacement in Bohr, as here.
 * Fixed coordinates (if_pos = 0) get a zero gradient and a zero step.
 *
 * Departures, all in the safe direction: the Hessian B is kept beside its inverse H (both
 * updated, O(n²)) instead of a Cholesky solve per step; after the curvature damping the update
 * uses s·y of the damped y (pw.x keeps the undamped one); a Newton step shorter than
 * trust_radius_min is taken whole instead of resetting the history; and when the history has been
 * reset twice in a row the run stops as not converged (pw.x reports it converged).
 */

/** What happened in one call, for the pw.x-format report (src/io/pw-steps-output.ts). */
export type BfgsNote =
  | { kind: 'start' }
  | { kind: 'counts'; scfCycles: number; bfgsSteps: number; energyOldRy?: number; energyNewRy: number }
  | { kind: 'rejected' }
  | { kind: 'accepted' }
  | { kind: 'trust-radius'; bohr: number }
  | { kind: 'reset'; reason: 'trust-radius-min' | 'uphill' | 'small-trust-radius' | 'curvature' }
  | { kind: 'damped'; theta: number };

export interface BfgsParams {
  energyThrRy: number;
  gradThrRyPerBohr: number;
  trustRadiusIniBohr: number;
  trustRadiusMinBohr: number;
  trustRadiusMaxBohr: number;
  w1: number;
  w2: number;
}

export interface BfgsResult {
  /** Next positions to evaluate (unchanged when converged). */
  posBohr: number[];
  converged: boolean;
  /** No step left to take (history reset twice in a row, or a zero gradient with the energy test failing): stop, not converged. */
  stuck: boolean;
  /** |E − E_prev| (Ry) and the largest |gradient| component (Ry/Bohr) of this call. */
  energyErrorRy: number;
  gradErrorRyPerBohr: number;
  notes: BfgsNote[];
}

const EPS8 = 1e-8;
const EPS16 = 1e-16;

const dotv = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i], 0);
const matVec = (m: Float64Array, v: number[], n: number): number[] => {
  const out = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += m[i * n + j] * v[j];
    out[i] = s;
  }
  return out;
};
const identity = (n: number): Float64Array => {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
};

/** Largest atomic displacement of a 3N vector (pw.x's scnorm with a Cartesian metric). */
export function maxAtomNorm(v: number[]): number {
  let m = 0;
  for (let a = 0; a < v.length; a += 3) m = Math.max(m, Math.hypot(v[a], v[a + 1], v[a + 2]));
  return m;
}

export class PwBfgs {
  private readonly n: number;
  private readonly free: number[];
  private invHess: Float64Array;
  private hess: Float64Array;
  private posP: number[] = [];
  private gradP: number[] = [];
  private energyP = 0;
  private stepOld: number[] = [];
  private trustRadiusOld = 0;
  private nrStepLength = 0;
  private scfIter = 0;
  private bfgsIter = 0;
  private trMinHit = 0;

  /** `freeMask`: 1 per free Cartesian coordinate, 0 per fixed one (if_pos flattened). */
  constructor(private readonly p: BfgsParams, freeMask: number[]) {
    this.n = freeMask.length;
    this.free = freeMask;
    this.invHess = identity(this.n);
    this.hess = identity(this.n);
  }

  get scfCycles(): number {
    return this.scfIter;
  }
  get bfgsSteps(): number {
    return this.bfgsIter;
  }

  private reset(): void {
    this.invHess = identity(this.n);
    this.hess = identity(this.n);
  }

  private newtonStep(grad: number[]): number[] {
    return matVec(this.invHess, grad, this.n).map((x, i) => -x * this.free[i]);
  }

  private energyWolfe(energy: number): boolean {
    return energy - this.energyP < this.p.w1 * dotv(this.gradP, this.stepOld) * this.trustRadiusOld;
  }

  private gradientWolfe(grad: number[]): boolean {
    return Math.abs(dotv(grad, this.stepOld)) < -this.p.w2 * dotv(this.gradP, this.stepOld);
  }

  /** Damped BFGS update of H (and B) from the last accepted step. */
  private updateInverseHessian(pos: number[], grad: number[], notes: BfgsNote[]): void {
    const n = this.n;
    const s = pos.map((x, i) => x - this.posP[i]);
    let y = grad.map((x, i) => x - this.gradP[i]);
    let sdoty = dotv(s, y);
    if (Math.abs(sdoty) < EPS16) {
      notes.push({ kind: 'reset', reason: 'curvature' });
      this.reset();
      return;
    }
    const bs = matVec(this.hess, s, n);
    const sBs = dotv(s, bs);
    if (sdoty < 0.2 * sBs) {
      // Powell's damping (Nocedal & Wright 18.2), as pw.x
      const theta = (0.8 * sBs) / (sBs - sdoty);
      notes.push({ kind: 'damped', theta });
      y = y.map((x, i) => theta * x + (1 - theta) * bs[i]);
      sdoty = dotv(s, y);
    }
    const hy = matVec(this.invHess, y, n);
    const yhy = dotv(y, hy);
    const H = this.invHess;
    const B = this.hess;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        H[i * n + j] += ((1 + yhy / sdoty) * s[i] * s[j] - (s[i] * hy[j] + hy[i] * s[j])) / sdoty;
        B[i * n + j] += (y[i] * y[j]) / sdoty - (bs[i] * bs[j]) / sBs;
      }
    }
  }

  /**
   * One pw.x `bfgs` call: takes the energy (Ry) and gradient (−force, Ry/Bohr) at `posBohr`,
   * checks convergence, and returns the next positions.
   */
  step(posBohr: number[], energyRy: number, gradRyPerBohr: number[]): BfgsResult {
    const notes: BfgsNote[] = [];
    let pos = [...posBohr];
    let energy = energyRy;
    let grad = gradRyPerBohr.map((g, i) => g * this.free[i]);
    if (this.scfIter === 0) {
      notes.push({ kind: 'start' });
      this.energyP = energy;
      this.trustRadiusOld = this.p.trustRadiusIniBohr;
      this.stepOld = new Array<number>(this.n).fill(0);
      this.posP = new Array<number>(this.n).fill(0);
      this.gradP = new Array<number>(this.n).fill(0);
    } else {
      const d = pos.map((x, i) => x - this.posP[i]);
      this.trustRadiusOld = maxAtomNorm(d);
      this.stepOld = d.map((x) => x / this.trustRadiusOld);
    }
    this.scfIter++;
    const energyErrorRy = Math.abs(this.energyP - energy);
    const gradErrorRyPerBohr = grad.reduce((m, g) => Math.max(m, Math.abs(g)), 0);
    const converged = energyErrorRy < this.p.energyThrRy && gradErrorRyPerBohr < this.p.gradThrRyPerBohr;
    if (converged) return { posBohr: pos, converged, stuck: false, energyErrorRy, gradErrorRyPerBohr, notes };
    // the history was reset twice in a row: pw.x stops here (and calls it converged; we do not)
    if (this.trMinHit > 1) return { posBohr: pos, converged: false, stuck: true, energyErrorRy, gradErrorRyPerBohr, notes };
    notes.push({ kind: 'counts', scfCycles: this.scfIter, bfgsSteps: this.bfgsIter, energyOldRy: this.scfIter > 1 ? this.energyP : undefined, energyNewRy: energy });

    let step: number[];
    let trustRadius: number;
    if (this.scfIter > 1 && !this.energyWolfe(energy)) {
      // the last step raised the energy too much: back to the last accepted point, shorter step
      notes.push({ kind: 'rejected' });
      step = [...this.stepOld];
      const dE0s = dotv(this.gradP, step) * this.trustRadiusOld;
      const den = energy - this.energyP - dE0s;
      trustRadius = (-0.5 * dE0s * this.trustRadiusOld) / den;
      notes.push({ kind: 'trust-radius', bohr: trustRadius });
      pos = [...this.posP];
      energy = this.energyP;
      grad = [...this.gradP];
      if (trustRadius < this.p.trustRadiusMinBohr) {
        notes.push({ kind: 'reset', reason: 'trust-radius-min' });
        this.trMinHit = this.trMinHit === 1 ? 2 : 1;
        this.reset();
        step = this.newtonStep(grad);
        this.nrStepLength = maxAtomNorm(step);
        step = step.map((x) => x / this.nrStepLength);
        trustRadius = Math.min(this.p.trustRadiusIniBohr, this.nrStepLength);
      } else this.trMinHit = 0;
    } else {
      this.bfgsIter++;
      let lwolfe = false;
      let nrStepLengthOld = 0;
      if (this.bfgsIter > 1) {
        notes.push({ kind: 'accepted' });
        nrStepLengthOld = this.nrStepLength;
        lwolfe = this.energyWolfe(energy) && this.gradientWolfe(grad);
        this.updateInverseHessian(pos, grad, notes);
      }
      step = this.newtonStep(grad);
      if (dotv(grad, step) > 0) {
        notes.push({ kind: 'reset', reason: 'uphill' });
        this.reset();
        step = this.newtonStep(grad);
      }
      this.nrStepLength = maxAtomNorm(step);
      step = step.map((x) => x / this.nrStepLength);
      if (this.bfgsIter === 1) {
        trustRadius = Math.min(this.p.trustRadiusIniBohr, this.nrStepLength);
        this.trMinHit = 0;
      } else {
        // pw.x's compute_trust_radius: grow by 1.1 (1.5 if the last step was cut short and good), ×2 on Wolfe
        const ltest = this.energyWolfe(energy) && nrStepLengthOld > this.trustRadiusOld + EPS8;
        const a = (ltest ? 1.5 : 1.1) * (lwolfe ? 2 : 1);
        trustRadius = Math.min(this.p.trustRadiusMaxBohr, a * this.trustRadiusOld, this.nrStepLength);
        if (this.nrStepLength < this.p.trustRadiusMinBohr) {
          // a Newton step shorter than trust_radius_min is taken whole: near the minimum that is the
          // right step (pw.x resets the history here and walks trust_radius_min downhill instead)
          trustRadius = this.nrStepLength;
          this.trMinHit = 0;
        } else if (trustRadius < this.p.trustRadiusMinBohr) {
          this.trMinHit = this.trMinHit === 1 ? 2 : 1;
          notes.push({ kind: 'reset', reason: 'small-trust-radius' });
          this.reset();
          step = this.newtonStep(grad);
          this.nrStepLength = maxAtomNorm(step);
          step = step.map((x) => x / this.nrStepLength);
          trustRadius = Math.min(this.p.trustRadiusMinBohr, this.nrStepLength);
        } else this.trMinHit = 0;
      }
      notes.push({ kind: 'trust-radius', bohr: trustRadius });
    }
    if (!(this.nrStepLength >= EPS16)) {
      // zero gradient on every free coordinate but the energy test failed: nothing left to move
      return { posBohr: pos, converged: false, stuck: true, energyErrorRy, gradErrorRyPerBohr, notes };
    }
    this.posP = [...pos];
    this.gradP = [...grad];
    this.energyP = energy;
    return { posBohr: pos.map((x, i) => x + trustRadius * step[i]), converged: false, stuck: false, energyErrorRy, gradErrorRyPerBohr, notes };
  }
}
