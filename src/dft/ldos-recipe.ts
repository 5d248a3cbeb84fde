/**
 * The pp.x LDOS recipe for Debian's QE 6.7 (qe-notes.md §2): plot_num = 3 with
 * emin/emax/delta_e/degauss_ldos, a padded emax because pp.x counts energies as
 * INT((emax−emin)/delta_e)+1 in Ry, and a Gaussian kernel obtained by setting the smearing tag of
 * the SCF's XML to 'gaussian' (QE 6.7 has no use_gauss_ldos; MALA defines the LDOS as Gaussian).
 * Pure text functions; running pp.x is src/dft/qe-run.ts' job.
 */
import { MalaError } from '../errors';
import { EnergyGrid, energiesEv, formatEnergyGrid } from '../targets/energy-grid';

/** QE 6.7's Rydberg in eV (constants.f90, CODATA 2018): pp.x converts emin/emax/delta_e with it. */
export const QE_RYTOEV = 13.605693122994;

/** How many energies pp.x 6.7 makes for (emin, emax, delta_e) in eV (postproc.f90: nplots). */
export function ppxEnergyCount(eminEv: number, emaxEv: number, deltaEv: number): number {
  const emin = eminEv / QE_RYTOEV;
  const emax = emaxEv / QE_RYTOEV;
  const de = deltaEv / QE_RYTOEV;
  return Math.trunc((emax - emin) / de) + 1;
}

/** pp.x emax for an energy grid: last energy + spacing/2 so truncation keeps exactly `count` energies. */
export function paddedEmaxEv(grid: EnergyGrid): number {
  return grid.offsetEv + (grid.count - 1) * grid.spacingEv + grid.spacingEv / 2;
}

/** pp.x writes tmp.ppNNN with I0.3: three digits up to 999 energies. */
export const PPX_MAX_ENERGIES = 999;

/** Fortran F-format text of an energy, enough digits that pp.x reads back the same grid. */
function ev(x: number): string {
  return Number(x.toPrecision(12)).toString();
}

/**
 * Check that pp.x can produce exactly this grid; throws a MalaError that says why not.
 * `broadeningEv` is degauss_ldos (the Gaussian σ in eV, as pp.x uses it: exp(−((E−ε)/σ)²)).
 */
export function checkLdosGrid(grid: EnergyGrid, broadeningEv: number): void {
  const fix = 'choose --energy-grid OFFSET,SPACING,COUNT with SPACING ≥ 0.001 eV and COUNT ≤ 999, e.g. --energy-grid=-4,0.1,131';
  if (grid.count > PPX_MAX_ENERGIES) throw new MalaError(`energy grid has ${grid.count} energies; pp.x names its files tmp.pp001…tmp.pp999 and cannot make more than ${PPX_MAX_ENERGIES}`, { fix: 'use fewer energies (a coarser spacing) or split the range over several runs' });
  // cube titles print energies with 4 decimals (F10.4 in eV); a finer spacing cannot be verified
  if (grid.spacingEv < 1e-3) throw new MalaError(`energy grid spacing ${grid.spacingEv} eV is finer than pp.x prints energies (4 decimals)`, { fix });
  if (!(broadeningEv > 0) || !Number.isFinite(broadeningEv)) throw new MalaError(`LDOS broadening ${broadeningEv} eV must be positive`, { fix: 'pass --ldos-broadening in eV (MALA uses 2 × spacing)' });
  const n = ppxEnergyCount(grid.offsetEv, paddedEmaxEv(grid), grid.spacingEv);
  if (n !== grid.count) throw new MalaError(`pp.x would make ${n} energies for ${formatEnergyGrid(grid)} (its count rule INT((emax−emin)/delta_e)+1 in Ry)`, { fix });
}

export interface PpLdosInputOptions {
  outdir: string;
  prefix: string;
  grid: EnergyGrid;
  broadeningEv: number;
  /** Base name of the cube files; pp.x writes tmp.ppNNN<fileout>. */
  fileout: string;
}

/** Fill the pp.x LDOS template (placeholders {{OUTDIR}}, {{PREFIX}}, {{EMIN_EV}}, ...). */
export function ppLdosInput(template: string, o: PpLdosInputOptions, templateFile = '<pp.x template>'): string {
  checkLdosGrid(o.grid, o.broadeningEv);
  const values: Record<string, string> = {
    OUTDIR: o.outdir,
    PREFIX: o.prefix,
    EMIN_EV: ev(o.grid.offsetEv),
    EMAX_EV: ev(paddedEmaxEv(o.grid)),
    DELTA_E_EV: ev(o.grid.spacingEv),
    DEGAUSS_LDOS_EV: ev(o.broadeningEv),
    FILEOUT: o.fileout,
  };
  const out = template.replace(/\{\{([A-Z_]+)\}\}/g, (m, k: string) => {
    if (!(k in values)) throw new MalaError(`unknown placeholder ${m} in the pp.x template`, { file: templateFile, fix: `use only ${Object.keys(values).map((v) => `{{${v}}}`).join(', ')}` });
    return values[k];
  });
  for (const k of ['OUTDIR', 'PREFIX', 'EMIN_EV', 'EMAX_EV', 'DELTA_E_EV', 'DEGAUSS_LDOS_EV', 'FILEOUT']) {
    if (!template.includes(`{{${k}}}`)) throw new MalaError(`the pp.x template lacks {{${k}}}`, { file: templateFile, fix: 'start from qe-inputs/al-fcc-298K.pp.ldos.in' });
  }
  if (!/plot_num\s*=\s*3\b/i.test(out)) throw new MalaError('the pp.x template does not ask for the LDOS (plot_num = 3)', { file: templateFile, fix: 'set plot_num = 3 in &inputpp' });
  // pp.x reads only the text after '!' as comment inside namelists; drop our header comments
  return out.split('\n').filter((l) => !/^\s*!/.test(l)).join('\n');
}

/** The built-in pp.x LDOS template (same as qe-inputs/al-fcc-298K.pp.ldos.in). */
export const DEFAULT_PP_LDOS_TEMPLATE = `&inputpp
  outdir = '{{OUTDIR}}'
  prefix = '{{PREFIX}}'
  plot_num = 3
  emin = {{EMIN_EV}}
  emax = {{EMAX_EV}}
  delta_e = {{DELTA_E_EV}}
  degauss_ldos = {{DEGAUSS_LDOS_EV}}
/
&plot
  iflag = 3
  output_format = 6
  fileout = '{{FILEOUT}}'
/
`;

/**
 * Switch the smearing recorded in a QE 6.7 data-file-schema.xml to 'gaussian', so pp.x's LDOS
 * kernel is exp(−x²)/√π (qe-notes.md §2.4). Throws if there is no smearing tag (fixed
 * occupations), because then pp.x would not use a Gaussian either.
 */
export function gaussianSmearingXml(xml: string, file = 'data-file-schema.xml'): string {
  const re = /(<smearing\b[^>]*>)\s*[^<]*?\s*(<\/smearing>)/g;
  if (!re.test(xml)) throw new MalaError('the SCF data file has no <smearing> tag (fixed occupations?)', { file, fix: "run the SCF with occupations = 'smearing', smearing = 'fermi-dirac'" });
  return xml.replace(re, '$1gaussian$2');
}

/** Energies (eV) pp.x prints in a cube title, "Energy =  -5.0000 eV, broadening = ...". */
export function cubeTitleEnergyEv(title: string): number | undefined {
  const m = /Energy\s*=\s*([-+]?\d+\.\d+)\s*eV/.exec(title);
  return m ? Number(m[1]) : undefined;
}

/** Expected cube file names for a grid: tmp.pp001<fileout>, ... (I0.3). */
export function ldosCubeNames(grid: EnergyGrid, fileout: string): string[] {
  return Array.from(energiesEv(grid), (_, i) => `tmp.pp${String(i + 1).padStart(3, '0')}${fileout}`);
}
