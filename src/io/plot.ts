/**
 * DOS plot with the Fermi level marked, drawn by vega-lite/vega (server-side SVG, no canvas).
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

/** Render the DOS plot as an SVG string. */
export async function renderDosSvg(input: DosPlotInput): Promise<string> {
  const { vega, vegaLite } = loadVega();
  const compiled = vegaLite.compile(dosPlotSpec(input)).spec;
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

/** Write the DOS plot; the format follows the extension (.svg or .png). */
export async function writeDosPlot(file: string, input: DosPlotInput): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') throw new MalaError(`unknown plot format '${ext || '(none)'}'`, { file, fix: 'name the plot file .svg or .png' });
  const svg = await renderDosSvg(input);
  writeFileAtomic(file, ext === '.svg' ? svg : svgToPng(svg));
}
