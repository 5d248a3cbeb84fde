/** The DOS plot with the Fermi level marked, SVG or PNG (src/io/plot.ts). */
import { writeDosPlot } from '../plot';
import type { OutputContext, OutputWriter } from './output';

const write = (file: string, ctx: OutputContext) => writeDosPlot(file, { energiesEv: ctx.result.energiesEv, dosPerEv: ctx.result.dosPerEv, fermiEnergyEv: ctx.result.fermiEnergyEv, title: ctx.plotTitle });

export const dosSvg: OutputWriter = { kind: 'plot', extension: '.svg', label: '.svg', write };
export const dosPng: OutputWriter = { kind: 'plot', extension: '.png', label: '.png', write };
