/** Least-squares power law y = a·x^p in log–log, with its r², for the benchmarks' scaling fits. */
export function powerLawFit(xs: number[], ys: number[]): { a: number; p: number; r2: number } {
  const lx = xs.map(Math.log);
  const ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length;
  const my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < lx.length; i++) {
    sxy += (lx[i] - mx) * (ly[i] - my);
    sxx += (lx[i] - mx) ** 2;
    syy += (ly[i] - my) ** 2;
  }
  const p = sxy / sxx;
  return { a: Math.exp(my - p * mx), p, r2: syy > 0 ? (sxy * sxy) / (sxx * syy) : 1 };
}

/** The exponent p of `powerLawFit`. */
export function powerLawExponent(xs: number[], ys: number[]): number {
  return powerLawFit(xs, ys).p;
}
