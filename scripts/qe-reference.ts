/**
 * Keep a generate folder's snapshots as QE references (src/workflow/qe-reference.ts): the pw.x
 * output trimmed to what verbosity 'low' prints, the info.json and the pw.x input, into a folder
 * `mala-ts test --data` reads. Used by `make al-broad-qe-refs` (mk/al-broad.mk).
 * Usage: npx tsx scripts/qe-reference.ts --data DIR --snapshots a,b,... --out DIR [--input 'DIR/{name}_0.pw.scf.in']
 */
import { isMalaError } from '../src/errors';
import { writeQeReferences } from '../src/workflow/qe-reference';

const USAGE = `usage: npx tsx scripts/qe-reference.ts --data DIR --snapshots a,b,... --out DIR [--input 'DIR/{name}_0.pw.scf.in']
  --data       the folder mala-ts generate wrote (<name>.pw.scf.out, <name>.info.json)
  --snapshots  the snapshots to keep, comma-separated
  --out        the reference folder (written: <name>.pw.scf.out trimmed, <name>.info.json[, <name>.pw.scf.in])
  --input      where each snapshot's pw.x input is, {name} standing for its name (optional)`;

function main(argv: string[]): void {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const opts: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    if (!['--data', '--snapshots', '--out', '--input'].includes(k) || argv[i + 1] === undefined) throw new Error(`qe-reference: cannot read '${argv.slice(i).join(' ')}'\n${USAGE}`);
    opts[k.slice(2)] = argv[i + 1];
  }
  for (const k of ['data', 'snapshots', 'out']) if (!opts[k]) throw new Error(`qe-reference: --${k} is missing\n${USAGE}`);
  const names = opts.snapshots.split(',').map((s) => s.trim()).filter((s) => s);
  const input = opts.input;
  const files = writeQeReferences({ dataDir: opts.data, names, outDir: opts.out, inputOf: input ? (name) => input.split('{name}').join(name) : undefined });
  for (const f of files) process.stdout.write(`qe-reference: ${f.name}: pw.x output ${(f.fullBytes / 1024).toFixed(0)} kB → ${(f.trimmedBytes / 1024).toFixed(1)} kB\n`);
}

try {
  main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`${isMalaError(e) ? `qe-reference: ${e.describe()}` : (e as Error).message}\n`);
  process.exit(1);
}
