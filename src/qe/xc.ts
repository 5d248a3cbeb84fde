/**
 * Exchange–correlation functionals exactly as QE 6.7 evaluates them (constants and thresholds of
 * its `slater`, `pz`, `pw`, `pbex`, `pbec`; spec §5.12.4). All in Hartree units: energies per
 * particle (LDA) or per volume (GGA, `sx`/`sc` already times ρ), potentials ∂/∂ρ; QE multiplies
 * by e² = 2 to get Rydberg. libxc's constants differ in the 7th–9th digit (e.g. PW92's), which
 * shows at the 1e-7 Ry level, hence this port; test/qe/xc.test.ts checks it against libxc.
 */

/** Scratch result of an LDA evaluation (per particle). */
export interface LdaOut {
  ex: number;
  ec: number;
  vx: number;
  vc: number;
}

/** Scratch result of a GGA gradient-correction evaluation. */
export interface GgaOut {
  sx: number;
  sc: number;
  v1x: number;
  v2x: number;
  v1c: number;
  v2c: number;
}

const slaterF = -0.687247939924714;
const slaterAlpha = 2 / 3;

/** Slater exchange (α = 2/3) at Wigner–Seitz radius rs. */
export function slater(rs: number): { ex: number; vx: number } {
  const ex = (slaterF * slaterAlpha) / rs;
  return { ex, vx: (4 / 3) * ex };
}

/** Perdew–Zunger 1981 correlation (QE `pz`, iflag = 1). */
export function pz(rs: number): { ec: number; vc: number } {
  const a = 0.0311;
  const b = -0.048;
  const c = 0.002;
  const d = -0.0116;
  const gc = -0.1423;
  const b1 = 1.0529;
  const b2 = 0.3334;
  if (rs < 1) {
    const lnrs = Math.log(rs);
    return {
      ec: a * lnrs + b + c * rs * lnrs + d * rs,
      vc: a * lnrs + (b - a / 3) + (2 / 3) * c * rs * lnrs + ((2 * d - c) / 3) * rs,
    };
  }
  const rs12 = Math.sqrt(rs);
  const ox = 1 + b1 * rs12 + b2 * rs;
  const dox = 1 + (7 / 6) * b1 * rs12 + (4 / 3) * b2 * rs;
  const ec = gc / ox;
  return { ec, vc: (ec * dox) / ox };
}

/** Perdew–Wang 1992 correlation (QE `pw`, iflag = 1: interpolation formula only). */
export function pw(rs: number): { ec: number; vc: number } {
  const a = 0.031091;
  const a1 = 0.2137;
  const b1 = 7.5957;
  const b2 = 3.5876;
  const b3 = 1.6382;
  const b4 = 0.49294;
  const rs12 = Math.sqrt(rs);
  const rs32 = rs * rs12;
  const rs2 = rs * rs;
  const om = 2 * a * (b1 * rs12 + b2 * rs + b3 * rs32 + b4 * rs2);
  const dom = 2 * a * (0.5 * b1 * rs12 + b2 * rs + 1.5 * b3 * rs32 + 2 * b4 * rs2);
  const olog = Math.log(1 + 1 / om);
  return {
    ec: -2 * a * (1 + a1 * rs) * olog,
    vc: -2 * a * (1 + (2 / 3) * a1 * rs) * olog - ((2 / 3) * a * (1 + a1 * rs) * dom) / (om * (om + 1)),
  };
}

/** QE's (3/4π)^(1/3) as it spells it (`pi34`). */
export const pi34 = 0.6203504908994;

/** PBE exchange gradient correction (QE `pbex`, iflag = 1) at density ρ and |∇ρ|² = grho. */
export function pbex(rho: number, grho: number, out: GgaOut): void {
  const third = 1 / 3;
  const c1 = 0.75 / Math.PI;
  const c2 = 3.093667726280136;
  const c5 = 4 * third;
  const k = 0.804;
  const mu = 0.2195149727645171;
  const agrho = Math.sqrt(grho);
  const kf = c2 * Math.pow(rho, third);
  const dsg = 0.5 / kf;
  const s1 = (agrho * dsg) / rho;
  const s2 = s1 * s1;
  const ds = -c5 * s1;
  const f1 = (s2 * mu) / k;
  const f2 = 1 + f1;
  const f3 = k / f2;
  const fx = k - f3;
  const exunif = -c1 * kf;
  const sx = exunif * fx;
  const dxunif = exunif * third;
  const dfx = (2 * mu * s1) / (f2 * f2);
  out.v1x = sx + dxunif * fx + exunif * dfx * ds;
  out.v2x = (exunif * dfx * dsg) / agrho;
  out.sx = sx * rho;
}

/** PBE correlation gradient correction (QE `pbec`, iflag = 1). */
export function pbec(rho: number, grho: number, out: GgaOut): void {
  const ga = 0.031090690869654895;
  const be = 0.06672455060314922;
  const xkf = 1.919158292677513;
  const xks = 1.128379167095513;
  const rs = pi34 / Math.pow(rho, 1 / 3);
  const { ec, vc } = pw(rs);
  const kf = xkf / rs;
  const ks = xks * Math.sqrt(kf);
  const t = Math.sqrt(grho) / (2 * ks * rho);
  const expe = Math.exp(-ec / ga);
  const af = (be / ga) * (1 / (expe - 1));
  const bf = expe * (vc - ec);
  const y = af * t * t;
  const xy = (1 + y) / (1 + y + y * y);
  const qy = (y * y * (2 + y)) / (1 + y + y * y) ** 2;
  const s1 = 1 + (be / ga) * t * t * xy;
  const h0 = ga * Math.log(s1);
  const dh0 = ((be * t * t) / s1) * ((-7 / 3) * xy - qy * ((af * bf) / be - 7 / 3));
  const ddh0 = ((be / (2 * ks * ks * rho)) * (xy - qy)) / s1;
  out.sc = rho * h0;
  out.v1c = h0 + dh0;
  out.v2c = ddh0;
}

/** LDA part of a functional at density |ρ| > threshold, per particle (Hartree). */
export function ldaXc(functional: 'pz' | 'pbe', absRho: number, out: LdaOut): void {
  const rs = pi34 / Math.pow(absRho, 1 / 3);
  const x = slater(rs);
  const c = functional === 'pz' ? pz(rs) : pw(rs);
  out.ex = x.ex;
  out.vx = x.vx;
  out.ec = c.ec;
  out.vc = c.vc;
}
