import * as fs from 'node:fs';
import type { Command } from 'commander';
import { MalaError } from '../../errors';
import { defaultProgress } from '../../util/progress';
import { runPwDropIn } from '../../workflow/pw';
import { positiveNumber } from './predict';
import { backendOption, deviceOption } from '../options';

interface Opts {
  model?: string;
  pseudoDir?: string;
  memory: string;
  backend: string;
  device?: string;
  strictDomain?: boolean;
}

const INPUT_FLAGS = ['-i', '-in', '-inp', '-input'];
// pw.x's parallelisation flags (each takes a value): accepted so that job scripts run unchanged.
const PARALLEL_FLAGS = ['-nk', '-npool', '-npools', '-nd', '-ndiag', '-northo', '-nt', '-ntg', '-ntask_groups', '-nb', '-nband', '-nbgrp', '-ni', '-nimage', '-nimages', '-nyfft', '-nh', '-pd'];

/** pw.x's own command-line arguments → the input file (undefined: standard input). */
export function parsePwArgs(args: string[], warn: (m: string) => void): string | undefined {
  let input: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i].toLowerCase();
    const value = args[i + 1];
    if (INPUT_FLAGS.includes(a)) {
      if (value === undefined) throw new MalaError(`${args[i]} needs a file name`, { fix: 'write pw -in scf.in' });
      input = value;
      i++;
    } else if (PARALLEL_FLAGS.includes(a)) {
      if (value === undefined) throw new MalaError(`${args[i]} needs a value`);
      warn(`${args[i]} ${value} ignored (pw.x parallelisation option)`);
      i++;
    } else {
      throw new MalaError(`unknown pw.x argument '${args[i]}'`, { fix: 'use pw -in scf.in (or pw < scf.in) with --model FILE' });
    }
  }
  return input;
}

function readStdin(): string {
  if (process.stdin.isTTY) {
    throw new MalaError('no pw.x input given', { fix: 'pass -in scf.in, or redirect it: mala-ts pw < scf.in' });
  }
  return fs.readFileSync(0, 'utf8');
}

export function register(program: Command): void {
  program
    .command('pw')
    .description('drop-in for pw.x: "mala-ts pw -in scf.in > scf.out" predicts the scf energies of an unchanged pw.x input and prints them in pw.x 6.7\'s output format')
    .argument('[pw-args...]', 'pw.x arguments: -in/-i/-inp/-input FILE (default: standard input); -nk etc. are ignored')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .option('--model <file>', 'mala-ts model or MALA model zip (default: $MALA_TS_MODEL)')
    .option('--pseudo-dir <dir>', 'UPF folder (default: pseudo_dir of the input, else $ESPRESSO_PSEUDO, as pw.x)')
    .option('--memory <MB>', 'memory budget for descriptors, LDOS and density', '4096')
    .option('--strict-domain', 'fail (exit 1) instead of warning when the structure or its settings lie outside the model\'s training domain')
    .addOption(backendOption())
    .addOption(deviceOption())
    .action(async (pwArgs: string[], opts: Opts) => {
      const warn = (m: string) => process.stderr.write(`mala-ts: warning: ${m}\n`);
      const inputFile = parsePwArgs(pwArgs, warn);
      const model = opts.model ?? process.env.MALA_TS_MODEL;
      if (!model) throw new MalaError('no model given', { fix: 'pass --model FILE (a mala-ts model or a MALA model zip) or set MALA_TS_MODEL' });
      let inputText: string;
      if (inputFile === undefined) inputText = readStdin();
      else {
        try {
          inputText = fs.readFileSync(inputFile, 'utf8');
        } catch (e) {
          throw new MalaError(`cannot read the pw.x input: ${(e as Error).message}`, { file: inputFile, fix: 'check the path given to -in', cause: e });
        }
      }
      // stdout carries the pw.x output only; warnings and progress go to stderr
      const r = await runPwDropIn({
        inputText,
        inputFile,
        modelFile: model,
        pseudoDir: opts.pseudoDir,
        memoryMb: positiveNumber(opts.memory, '--memory'),
        backend: opts.backend,
        device: opts.device,
        progress: defaultProgress(),
        warn,
        strictDomain: opts.strictDomain,
      });
      process.stdout.write(r.output);
    });
}
