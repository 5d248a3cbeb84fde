import * as path from 'node:path';
import type { Command } from 'commander';
import { commandSummary } from './table';
import { MalaError, printableText } from '../../errors';
import { defaultWatchPattern, watchFolder, WatchRecord } from '../../workflow/watch';
import { positiveNumber } from './predict';
import { backendOption, deviceOption, pseudoDirOption, modelFileOption } from '../options';
import { onInterrupt } from '../../util/cleanup';

interface Opts {
  model?: string;
  pattern?: string;
  log?: string;
  out?: string;
  pseudoDir?: string;
  temperature?: string;
  memory: string;
  elements?: string;
  settle: string;
  existing: boolean;
  polling?: boolean;
  requireTotalEnergy?: boolean;
  backend: string;
  device?: string;
  strictDomain?: boolean;
}

function describe(r: WatchRecord): string {
  const name = r.file;
  if (!r.ok) return printableText(`mala-ts: error: ${name}: ${r.error}${r.fix ? `\n  fix: ${r.fix}` : ''}`) + '\n';
  const total = typeof r.total_energy_ev === 'number' ? `, E_total ${r.total_energy_ev.toFixed(6)} eV` : '';
  return `mala-ts: ${name}: E_F ${(r.fermi_energy_ev as number).toFixed(6)} eV, E_band ${(r.band_energy_ev as number).toFixed(6)} eV${total}\n`;
}

export function register(program: Command): void {
  program
    .command('watch')
    .description(commandSummary('watch'))
    .argument('<dir>', 'folder to watch (subfolders included)')
    .option('--model <file>', 'mala-ts model or MALA model zip (default: $MALA_TS_MODEL)')
    .option('--pattern <glob>', `file names to predict (matched against the path relative to <dir> when it has a '/')`, defaultWatchPattern)
    .option('--log <file>', 'JSONL log, appended to (default: <dir>/mala-ts-watch.jsonl)')
    .option('--out <dir>', "also write each file's results.json, density.cube, dos.csv, dos.svg to <out>/<file>/")
    .addOption(pseudoDirOption('UPF files for the energy terms (default: the QE input\'s pseudo_dir or the structure\'s folder)'))
    .option('--temperature <K>', 'electronic temperature (default: QE degauss, else the model\'s)')
    .option('--memory <MB>', 'memory budget per prediction', '4096')
    .option('--elements <E1,E2,...>', 'LAMMPS data/dump files without element names: element of each atom type, type 1 first')
    .option('--settle <ms>', 'a file must stop changing for this long before it is read', '500')
    .option('--no-existing', 'skip files already in the folder at start')
    .option('--polling', 'poll the folder instead of using inotify (network file systems)')
    .option('--strict-domain', 'log an error instead of warning when the structure or its settings lie outside the model\'s training domain')
    .option('--require-total-energy', 'log an error instead of a warning when the total energy cannot be computed')
    .addOption(backendOption())
    .addOption(deviceOption())
    .action(async (dir: string, opts: Opts) => {
      const model = modelFileOption(opts.model);
      const handle = watchFolder({
        dir,
        model,
        pattern: opts.pattern,
        logFile: opts.log,
        outDir: opts.out,
        settleMs: positiveNumber(opts.settle, '--settle'),
        processExisting: opts.existing,
        usePolling: opts.polling,
        predictOptions: {
          pseudoDir: opts.pseudoDir,
          temperatureK: positiveNumber(opts.temperature, '--temperature'),
          memoryMb: positiveNumber(opts.memory, '--memory'),
          typeElements: opts.elements?.split(',').map((e) => e.trim()),
          requireTotalEnergy: opts.requireTotalEnergy,
          backend: opts.backend,
          device: opts.device,
          strictDomain: opts.strictDomain,
          warn: (m) => process.stderr.write(`mala-ts: warning: ${m}\n`),
        },
        onRecord: (r) => process.stderr.write(describe(r)),
      });

      let signals = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        if (signals > 1) {
          // every logged line is whole (one write each); only the file in progress is lost
          process.stderr.write(`mala-ts: ${sig} again: stopping now, the file in progress is not logged\n`);
          process.exit(130);
        }
        process.stderr.write(`mala-ts: ${sig}: stopping after the file in progress (${sig} again to stop now)\n`);
        handle.stop().then(
          () => {
            process.stderr.write(`mala-ts: stopped; ${handle.recordCount} line(s) written to ${handle.logFile}\n`);
            process.exit(0);
          },
          (e) => {
            process.stderr.write(`mala-ts: error while stopping: ${(e as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      onInterrupt(onSignal, { repeats: true }); // (instead of the CLI's exit-at-once: src/util/cleanup.ts)
      await handle.ready;
      process.stderr.write(`mala-ts: watching ${path.resolve(dir)} for ${opts.pattern}; results in ${handle.logFile} (Ctrl-C to stop)\n`);
      // the watcher keeps the process alive until a signal, or until the folder is gone (exit 1)
      await handle.closed;
    });
}
