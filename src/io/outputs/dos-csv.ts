/** The DOS as CSV (energy_ev,dos_per_ev). */
import { writeDosCsv } from '../results';
import type { OutputWriter } from './output';

export const dosCsv: OutputWriter = {
  kind: 'dos',
  extension: '.csv',
  label: '.csv',
  write: (file, ctx) => writeDosCsv(file, ctx.result.energiesEv, ctx.result.dosPerEv),
};
