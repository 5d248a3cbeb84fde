import * as fs from 'node:fs';
import type { Command } from 'commander';
import { commandSummary } from './table';
import { MalaError } from '../../errors';
import { checkOutputs } from '../../io/output-check';
import { formatJson, writeResultsJson } from '../../io/results';
import { defaultProgress, progressEnabled } from '../../util/progress';
import { testModel } from '../../workflow/tester';
import { findSnapshots } from '../../workflow/tester-data';
import { forceParityPoints, formatTestTable, parseMaxError, testReportJson } from '../../workflow/tester-report';
import { checkPlotFile, writeForceParityPlot } from '../../io/plot';
import { checkMergeTarget, mergeTestReports } from '../../workflow/tester-merge';
import { modelFileSha256 } from '../../workflow/model-info';
import { positiveNumber } from '../args';
import { backendOption, deviceOption, pseudoDirOption, modelFileOption } from '../options';

interface Opts {
  model?: string;
  data: string;
  snapshots?: string;
  maxError?: string;
  json?: boolean;
  out?: string;
  pseudoDir?: string;
  memory: string;
  backend: string;
  device?: string;
  forces?: boolean;
  merge?: boolean;
  dosOut?: string;
  parityPlot?: string;
}

export function register(program: Command): void {
  program
    .command('test')
    .description(commandSummary('test'))
    .option('--model <file>', 'mala-ts model or MALA model zip (default: $MALA_TS_MODEL)')
    .requiredOption('--data <dir>', 'snapshots as mala-ts generate writes them: <name>.in.npy, <name>.out.npy, <name>.pw.scf.out (or MALA\'s <name>.out), <name>.info.json; or pw.x outputs only (<name>.pw.scf.out and info.json, no .npy: descriptors from the atoms, errors vs QE alone)')
    .option('--snapshots <a,b,...>', 'test only these snapshots (names without extensions; default: all in --data)')
    .option('--max-error <spec>', 'exit 1 when any snapshot exceeds a limit on |error|, e.g. total=5,band=5,fermi=20 (meV/atom, meV/atom, meV, vs the target LDOS); band-qe, total-qe, fermi-qe: vs QE; dos (states/eV/atom), density (%); with --forces: forces-qe (eV/Å), stress-qe (GPa)')
    .option('--forces', "also the forces (RMSE, max |ΔF|, eV/Å) and, where the pw.x output has a stress block, the stress (max |Δσ|, ΔP, GPa) against QE's; the descriptors are recomputed from the atoms for their gradient. Limits: forces-qe (RMSE), stress-qe")
    .option('--json', 'print the per-snapshot rows and the summary as JSON')
    .option('--out <file>', 'also write the JSON there (e.g. models/<m>/VALIDATION.json, which model-info shows)')
    .option('--dos-out <dir>', "also write each snapshot's model and target DOS (states/eV/atom, common energies, both Fermi energies) to <dir>/<snapshot>.dos.csv")
    .option('--parity-plot <file>', 'with --forces: the force parity plot, every component of the model against QE with the line y = x (.svg or .png)')
    .option('--merge', "add this run's rows to the table already in --out (the same model file only; a snapshot tested again replaces its row); the summary and the limits then cover every row")
    .addOption(pseudoDirOption('UPF files for the total energy (default: the pseudo_dir rule: $ESPRESSO_PSEUDO, the snapshot\'s folder, ...)'))
    .option('--memory <MB>', 'memory budget of one snapshot\'s prediction', '4096')
    .addOption(backendOption())
    .addOption(deviceOption())
    .action(async (opts: Opts) => {
      const model = modelFileOption(opts.model);
      const maxError = opts.maxError === undefined ? undefined : parseMaxError(opts.maxError);
      const snapshots = opts.snapshots?.split(',').map((s) => s.trim()).filter((s) => s);
      // an empty list would have meant "all": say so instead of testing what was not asked for
      if (snapshots && snapshots.length === 0) throw new MalaError(`--snapshots '${opts.snapshots}' names no snapshot`, { fix: 'give snapshot names separated by commas, or drop --snapshots to test all in --data' });
      if (opts.merge && !opts.out) throw new MalaError('--merge adds rows to the table in --out, and there is no --out', { fix: 'add --out <file> (e.g. models/<m>/VALIDATION.json), or drop --merge' });
      // the table to merge into, read (and checked below) before any work
      const previous = opts.merge && fs.existsSync(opts.out!) ? readTable(opts.out!) : undefined;
      if (previous !== undefined) checkMergeTarget(previous, modelFileSha256(model), opts.out!);
      if (opts.parityPlot !== undefined) {
        if (!opts.forces) throw new MalaError('--parity-plot plots the forces, and there is no --forces', { fix: 'add --forces, or drop --parity-plot' });
        checkPlotFile(opts.parityPlot);
      }
      if (opts.out || opts.dosOut || opts.parityPlot) {
        // the report must not overwrite the model or a snapshot's file
        const inputs = findSnapshots(opts.data, snapshots).flatMap((s) => [s.descriptorsFile, s.ldosFile, s.structureFile, s.infoFile]).filter((f): f is string => f !== undefined);
        checkOutputs(
          [
            ...(opts.out ? [{ path: opts.out, kind: 'file' as const, flag: '--out' }] : []),
            ...(opts.dosOut ? [{ path: opts.dosOut, kind: 'dir' as const, flag: '--dos-out' }] : []),
            ...(opts.parityPlot ? [{ path: opts.parityPlot, kind: 'file' as const, flag: '--parity-plot' }] : []),
          ],
          [model, ...inputs],
        );
      }
      const stderr = (m: string) => process.stderr.write(`mala-ts: ${m}\n`);
      const report = await testModel({
        modelFile: model,
        dataDir: opts.data,
        snapshots,
        maxError,
        pseudoDir: opts.pseudoDir,
        memoryMb: positiveNumber(opts.memory, '--memory'),
        backend: opts.backend,
        device: opts.device,
        forces: opts.forces,
        dosDir: opts.dosOut,
        progress: defaultProgress(),
        warn: (m) => stderr(`warning: ${m}`),
        log: progressEnabled() ? stderr : undefined,
      });
      const fresh = testReportJson(report);
      const json = previous === undefined ? fresh : mergeTestReports(previous, fresh, opts.out!);
      if (opts.out) writeResultsJson(opts.out, json);
      if (opts.parityPlot) await writeForceParityPlot(opts.parityPlot, forceParityPoints(json.snapshots as Record<string, unknown>[], opts.out ?? 'the test report'));
      process.stdout.write(opts.json ? formatJson(json) : formatTestTable(json));
      const failures = json.failures as { snapshot: string; quantity: string; value: number | null; limit: number; unit: string }[];
      if (failures.length > 0) {
        if (opts.json) for (const f of failures) stderr(`FAILED ${f.snapshot}: |${f.quantity}| ${f.value === null ? 'not available' : Math.abs(f.value).toFixed(3)} > ${f.limit} ${f.unit}`);
        process.exitCode = 1;
      }
    });
}

/** --merge: the table already in --out, parsed; one clear error when it is not JSON. */
function readTable(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new MalaError(`--merge: cannot read the --out file as JSON: ${(e as Error).message}`, { file, fix: 'drop --merge to overwrite it, or give another --out', cause: e });
  }
}
