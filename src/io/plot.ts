/**
 * Plots drawn by vega-lite/vega (server-side SVG, no canvas): the DOS with the Fermi level marked,
 * and the force parity plot of `mala-ts test --forces` (model against QE, with the line y = x).
 * PNG is rasterised from that SVG by resvg when `@resvg/resvg-js` is installed.
 */
import * as path from 'node:path';
import { MalaError } from '../errors';
import { writeFileAtomic } from './atomic-write';

// vega/vega-lite ship no types we rely on; the API surface used here is tiny. Loaded on the first
// plot, not at start-up: they cost ~150 ms of every command's start otherwise.
type Vega = { View: new (runtime: unknown, opts: { renderer: string }) => { toSVG(): Promise<string>; finalize(): void }; parse(spec: unknown): unknown };
type VegaLite = { compile(spec: unknown): { spec: unknown } };
// eslint-disable-next-line @typescript-eslint/no-var-requires
const loadVega = (): { vega: Vega; vegaLite: VegaLite } => ({ vega: require('vega') as Vega, vegaLite: require('vega-lite') as VegaLite });

export interface DosPlotInput {
  energiesEv: ArrayLike<number>;
  dosPerEv: ArrayLike<number>;
  fermiEnergyEv: number;
  title?: string;
  /** Second curve to compare with (e.g. a reference DOS). */
  reference?: { label: string; dosPerEv: ArrayLike<number> };
}

/** The vega-lite specification of the DOS plot (exposed for tests and for users who restyle it). */
export function dosPlotSpec(input: DosPlotInput): Record<string, unknown> {
  const rows: { energy_ev: number; dos_per_ev: number; series: string }[] = [];
  const main = input.reference ? 'DOS from LDOS' : 'DOS';
  for (let i = 0; i < input.energiesEv.length; i++) rows.push({ energy_ev: input.energiesEv[i], dos_per_ev: input.dosPerEv[i], series: main });
  if (input.reference) for (let i = 0; i < input.energiesEv.length; i++) rows.push({ energy_ev: input.energiesEv[i], dos_per_ev: input.reference.dosPerEv[i], series: input.reference.label });
  const fermiLabel = `E_F = ${input.fermiEnergyEv.toFixed(4)} eV`;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: input.title ?? 'Density of states',
    width: 560,
    height: 320,
    background: 'white',
    layer: [
      {
        data: { values: rows },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'energy_ev', type: 'quantitative', title: 'Energy (eV)' },
          y: { field: 'dos_per_ev', type: 'quantitative', title: 'DOS (states/eV)' },
          color: { field: 'series', type: 'nominal', title: null, legend: input.reference ? { orient: 'top-left', labelLimit: 400 } : null },
        },
      },
      {
        data: { values: [{ fermi_energy_ev: input.fermiEnergyEv, label: fermiLabel }] },
        layer: [
          { mark: { type: 'rule', color: '#d62728', strokeDash: [6, 4], strokeWidth: 2 }, encoding: { x: { field: 'fermi_energy_ev', type: 'quantitative' } } },
          {
            mark: { type: 'text', color: '#d62728', align: 'left', dx: 4, dy: 2, baseline: 'top' },
            encoding: { x: { field: 'fermi_energy_ev', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
          },
        ],
      },
    ],
  };
}

/** One force component of a parity plot, eV/Å. */
export interface ParityPoint {
  snapshot: string;
  qeEvPerA: number;
  modelEvPerA: number;
}

/** Snapshots up to this many get a colour each; more are one colour (a legend of dozens reads as noise). */
export const PARITY_COLOURED_SNAPSHOTS = 12;

/** The vega-lite specification of the force parity plot: every component, model against QE, on equal axes with y = x. */
export function forceParitySpec(points: readonly ParityPoint[], title?: string): Record<string, unknown> {
  if (points.length === 0) throw new MalaError('a force parity plot needs forces', { fix: 'test with --forces' });
  let lo = Infinity;
  let hi = -Infinity;
  let sq = 0;
  for (const p of points) {
    lo = Math.min(lo, p.qeEvPerA, p.modelEvPerA);
    hi = Math.max(hi, p.qeEvPerA, p.modelEvPerA);
    sq += (p.modelEvPerA - p.qeEvPerA) ** 2;
  }
  const pad = 0.05 * (hi - lo || 1);
  const domain = [lo - pad, hi + pad];
  const snapshots = new Set(points.map((p) => p.snapshot)).size;
  const rmse = Math.sqrt(sq / points.length);
  const axis = (field: string, label: string) => ({ field, type: 'quantitative', title: label, scale: { domain, nice: false } });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: title ?? `Forces, model against QE: ${snapshots} snapshot${snapshots === 1 ? '' : 's'}, ${points.length} components, RMSE ${rmse.toFixed(3)} eV/Å`,
    width: 420,
    height: 420,
    background: 'white',
    layer: [
      {
        data: { values: domain.map((v) => ({ qe_ev_per_angstrom: v, model_ev_per_angstrom: v })) },
        mark: { type: 'line', color: '#888888', strokeDash: [4, 4] },
        encoding: { x: axis('qe_ev_per_angstrom', 'QE force component (eV/Å)'), y: axis('model_ev_per_angstrom', 'model force component (eV/Å)') },
      },
      {
        data: { values: points.map((p) => ({ snapshot: p.snapshot, qe_ev_per_angstrom: p.qeEvPerA, model_ev_per_angstrom: p.modelEvPerA })) },
        mark: { type: 'point', filled: true, size: 16, opacity: 0.6 },
        encoding: {
          x: axis('qe_ev_per_angstrom', 'QE force component (eV/Å)'),
          y: axis('model_ev_per_angstrom', 'model force component (eV/Å)'),
          color: snapshots <= PARITY_COLOURED_SNAPSHOTS ? { field: 'snapshot', type: 'nominal', title: 'snapshot' } : { value: '#1f77b4' },
        },
      },
    ],
  };
}

/** Render a vega-lite specification as an SVG string. */
async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const { vega, vegaLite } = loadVega();
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterise an SVG to PNG with resvg, or explain how to get it. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  let Resvg: new (svg: string, opts: unknown) => { render(): { asPng(): Uint8Array } };
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    Resvg = require('@resvg/resvg-js').Resvg;
  } catch (e) {
    throw new MalaError('PNG output needs the optional package @resvg/resvg-js, which is not installed', { fix: 'write an SVG instead (--plot dos.svg) or run `npm install @resvg/resvg-js`', cause: e });
  }
  return new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: true }, background: 'white' }).render().asPng();
}

/** Render the DOS plot as an SVG string. */
export function renderDosSvg(input: DosPlotInput): Promise<string> {
  return renderSvg(dosPlotSpec(input));
}

/** A plot file's format from its extension, or one clear error (checked before any work). */
export function checkPlotFile(file: string): '.svg' | '.png' {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') throw new MalaError(`unknown plot format '${ext || '(none)'}'`, { file, fix: 'name the plot file .svg or .png' });
  return ext;
}

async function writePlot(file: string, spec: Record<string, unknown>): Promise<void> {
  const ext = checkPlotFile(file);
  const svg = await renderSvg(spec);
  writeFileAtomic(file, ext === '.svg' ? svg : svgToPng(svg));
}

/** Write the DOS plot; the format follows the extension (.svg or .png). */
export function writeDosPlot(file: string, input: DosPlotInput): Promise<void> {
  return writePlot(file, dosPlotSpec(input));
}

/** Write the force parity plot; the format follows the extension (.svg or .png). */
export function writeForceParityPlot(file: string, points: readonly ParityPoint[], title?: string): Promise<void> {
  return writePlot(file, forceParitySpec(points, title));
}
