/** results.json: the JSON value the caller maps its result to, written last (it holds the total time). */
import { writeResultsJson } from '../results';
import type { OutputWriter } from './output';

export const resultsJson: OutputWriter = {
  kind: 'results',
  extension: '.json',
  label: '.json',
  last: true,
  write: (file, ctx) => {
    if (!ctx.json) throw new Error(`no JSON value for ${file}`);
    writeResultsJson(file, ctx.json());
  },
};
