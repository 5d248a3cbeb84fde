/**
 * The facts a training snapshot needs from pw.x's `<prefix>.save/data-file-schema.xml` (QE 6.x
 * schema, Hartree units, full precision): eigenvalues and k-weights (Σw = 2 for nspin = 1),
 * Fermi energy, band count, total-energy parts. Used for the eigenvalue band energy (spec §5.10)
 * and to check that nbnd covers the LDOS energy window.
 */
import { MalaError } from '../errors';
import { hartreeEv } from '../structure/units';

export interface QeXmlBands {
  /** k-point weights, sum 2 (spin included) for nspin = 1. */
  kWeights: number[];
  /** eigenvaluesEv[k][n], eV. */
  eigenvaluesEv: number[][];
  nbnd: number;
  fermiEnergyEv?: number;
  numberOfElectrons?: number;
  /** `<total_energy>` children in eV (etot, eband, ehart, etxc, ewald, demet, ...). */
  totalEnergyEv: Record<string, number>;
}

export function parseQeXmlBands(xml: string, file = 'data-file-schema.xml'): QeXmlBands {
  const fail = (what: string): never => {
    throw new MalaError(`cannot read ${what} from the QE data file`, { file, fix: 'rerun pw.x to completion; the file is incomplete or from another QE version' });
  };
  const bs = /<band_structure>([\s\S]*?)<\/band_structure>/.exec(xml)?.[1] ?? fail('<band_structure>');
  const nbnd = Number(/<nbnd>\s*(\d+)\s*<\/nbnd>/.exec(bs)?.[1] ?? fail('nbnd'));
  const kWeights: number[] = [];
  const eigenvaluesEv: number[][] = [];
  const re = /<ks_energies>\s*<k_point weight="([^"]+)"[^>]*>[^<]*<\/k_point>[\s\S]*?<eigenvalues[^>]*>([^<]*)<\/eigenvalues>/g;
  for (let m = re.exec(bs); m; m = re.exec(bs)) {
    kWeights.push(Number(m[1]));
    eigenvaluesEv.push(m[2].trim().split(/\s+/).map((x) => Number(x) * hartreeEv));
  }
  if (kWeights.length === 0) fail('eigenvalues');
  if (eigenvaluesEv.some((e) => e.length !== nbnd || e.some((x) => !Number.isFinite(x)))) fail('eigenvalues (wrong count)');
  const ef = /<fermi_energy>\s*([^<]+)<\/fermi_energy>/.exec(bs)?.[1];
  const ne = /<nelec>\s*([^<]+)<\/nelec>/.exec(bs)?.[1];
  const totalEnergyEv: Record<string, number> = {};
  const te = /<total_energy>([\s\S]*?)<\/total_energy>/.exec(xml)?.[1] ?? '';
  for (const m of te.matchAll(/<(\w+)>\s*([^<]+)<\/\1>/g)) totalEnergyEv[m[1]] = Number(m[2]) * hartreeEv;
  return {
    kWeights,
    eigenvaluesEv,
    nbnd,
    fermiEnergyEv: ef !== undefined ? Number(ef) * hartreeEv : undefined,
    numberOfElectrons: ne !== undefined ? Number(ne) : undefined,
    totalEnergyEv,
  };
}

function fermi(e: number, mu: number, kT: number): number {
  const x = (e - mu) / kT;
  if (x > 709) return 0;
  return 1 / (1 + Math.exp(x));
}

/** MALA's DFT band energy Σ_k w_k Σ_n ε_nk f(ε_nk; E_F, T) (eV) and electron count. */
export function eigenvalueBandEnergy(b: QeXmlBands, fermiEnergyEv: number, kTEv: number): { bandEnergyEv: number; electrons: number } {
  let e = 0;
  let n = 0;
  b.eigenvaluesEv.forEach((eps, k) => {
    for (const x of eps) {
      const f = fermi(x, fermiEnergyEv, kTEv);
      e += b.kWeights[k] * x * f;
      n += b.kWeights[k] * f;
    }
  });
  return { bandEnergyEv: e, electrons: n };
}

/** Lowest eigenvalue of the highest computed band (eV): the LDOS is complete only below it. */
export function highestBandMinimumEv(b: QeXmlBands): number {
  return Math.min(...b.eigenvaluesEv.map((e) => e[e.length - 1]));
}

export function lowestEigenvalueEv(b: QeXmlBands): number {
  return Math.min(...b.eigenvaluesEv.map((e) => e[0]));
}

/**
 * The same facts from pw.x's standard output (verbosity = 'high' prints eigenvalues for ≥ 100
 * k-points; always for fewer): printed k-weights (7 decimals) and eigenvalues (4 decimals, eV),
 * as MALA reads them. For runs without an XML (disk_io = 'none').
 */
export function parseQeOutputBands(text: string, file = 'pw.x output'): QeXmlBands {
  const fail = (what: string): never => {
    throw new MalaError(`cannot read ${what} from the pw.x output`, { file, fix: "run pw.x to completion with verbosity = 'high'" });
  };
  const nk = Number(/number of k points=\s*(\d+)/.exec(text)?.[1] ?? fail('the number of k-points'));
  const kWeights = [...text.matchAll(/k\(\s*\d+\)\s*=\s*\([^)]*\),\s*wk\s*=\s*([\d.]+)/g)].slice(0, nk).map((m) => Number(m[1]));
  if (kWeights.length !== nk) fail('the k-point weights');
  const end = text.lastIndexOf('End of self-consistent calculation');
  if (end < 0) fail('"End of self-consistent calculation"');
  const tail = text.slice(end);
  const stop = tail.search(/the Fermi energy is|highest occupied/);
  const blocks = tail.slice(0, stop < 0 ? undefined : stop).split(/\n\s*k =.*bands \(ev\):\s*\n/).slice(1);
  const eigenvaluesEv = blocks.map((b) => {
    const body = b.split(/\n\s*occupation numbers/)[0];
    return [...body.matchAll(/-?\d+\.\d+/g)].map((m) => Number(m[0]));
  });
  if (eigenvaluesEv.length !== nk) fail(`eigenvalues of all ${nk} k-points (found ${eigenvaluesEv.length}; is verbosity = 'high'?)`);
  const nbnd = eigenvaluesEv[0].length;
  if (eigenvaluesEv.some((e) => e.length !== nbnd)) fail('eigenvalues (uneven band counts)');
  const ef = /the Fermi energy is\s+(-?[\d.]+)\s*ev/.exec(tail)?.[1];
  const ne = /number of electrons\s*=\s*([\d.]+)/.exec(text)?.[1];
  return { kWeights, eigenvaluesEv, nbnd, fermiEnergyEv: ef === undefined ? undefined : Number(ef), numberOfElectrons: ne === undefined ? undefined : Number(ne), totalEnergyEv: {} };
}
