/**
 * How spiky a DOS is (issue 18): the rms of its second difference over its mean, between two
 * energies. Bulk Al's nearly free-electron DOS gives a few hundredths; a model that learned the
 * k-sampling wiggles of small training cells gives tenths (models/al-fcc-broad/RECIPE.md).
 */
export function dosRoughness(energiesEv: ArrayLike<number>, dosPerEv: ArrayLike<number>, loEv = -2, hiEv = 8): number {
  const g: number[] = [];
  for (let i = 0; i < energiesEv.length; i++) if (energiesEv[i] > loEv && energiesEv[i] < hiEv) g.push(dosPerEv[i]);
  if (g.length < 3) throw new Error(`dosRoughness: ${g.length} energies between ${loEv} and ${hiEv} eV, need 3`);
  let s2 = 0;
  for (let i = 1; i + 1 < g.length; i++) s2 += (g[i + 1] - 2 * g[i] + g[i - 1]) ** 2;
  const mean = g.reduce((a, b) => a + b, 0) / g.length;
  return Math.sqrt(s2 / (g.length - 2)) / mean;
}
