/**
 * `--help` for every benchmark: prints the benchmark's own leading doc comment (its usage, what
 * it measures, against which peer) and exits 0 before any work starts. Call it right after the
 * imports: `helpIfAsked(__filename);`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function helpIfAsked(file: string, argv: readonly string[] = process.argv.slice(2)): void {
  if (!argv.includes('--help') && !argv.includes('-h')) return;
  const text = fs.readFileSync(file, 'utf8');
  const m = /^\s*(?:#![^\n]*\n)?\s*\/\*\*([\s\S]*?)\*\//.exec(text);
  const doc = m ? m[1].split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n').trim() : '(no description)';
  process.stdout.write(`npx tsx bench/${path.basename(file)} [options]\n\n${doc}\n`);
  process.exit(0);
}

/** The value after --name on the command line, else `def`; without a default a missing flag is an error. */
export function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1]) return process.argv[i + 1];
  if (def === undefined) throw new Error(`missing --${name}`);
  return def;
}
