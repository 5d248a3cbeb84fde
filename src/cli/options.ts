/**
 * Command-line options shared by several commands, built from the registries they name so a
 * new entry (e.g. a network backend) shows up in every command's help and validation.
 */
import * as fs from 'node:fs';
import { Option } from 'commander';
import { MalaError } from '../errors';
import { backendNames } from '../network/backends';
import { parseDeviceRequest } from '../network/device';

/** 'auto' plus the registered network backends, as `--backend` accepts them. */
export function backendChoices(): string[] {
  return ['auto', ...backendNames()];
}

/** "a, b or c" */
function orList(words: string[]): string {
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}` : words.join('');
}

/** `--backend <name>`: a registered network backend or 'auto' (default), checked when parsed. */
export function backendOption(): Option {
  const choices = backendChoices();
  // $MALA_TS_BACKEND applies when the flag is absent (it was never read: the default 'auto' always won)
  return new Option('--backend <name>', `network backend: ${orList(choices)}`)
    .default('auto')
    .env('MALA_TS_BACKEND')
    .argParser((value: string) => {
      if (!backendChoices().includes(value)) {
        const fromEnv = value === process.env.MALA_TS_BACKEND && !process.argv.includes('--backend') && !process.argv.some((a) => a.startsWith('--backend='));
        throw new MalaError(`unknown backend '${value}'${fromEnv ? ' (MALA_TS_BACKEND)' : ''}`, { fix: `use --backend ${orList(backendChoices())}${fromEnv ? ', or set MALA_TS_BACKEND to one of them' : ''}` });
      }
      return value;
    });
}

/**
 * `--device <cpu|cuda|auto>`: where the network runs (cuda:N picks a GPU). No default value here,
 * so $MALA_TS_DEVICE applies when the flag is absent (src/network/device.ts resolves both).
 */
export function deviceOption(): Option {
  return new Option('--device <name>', "network device: cpu, cuda (cuda:N) or auto = CUDA when the libtorch addon has it and a GPU is visible (default: $MALA_TS_DEVICE, else auto)").argParser((value: string) => parseDeviceRequest(value));
}

/**
 * `--pseudo-dir <dir>`: a folder that exists. A missing or mistyped folder given explicitly is an
 * error (issue 14: it only warned "total energy skipped"); a folder without the UPF files is
 * reported by the pseudopotential rule (src/qe/pseudo-dir.ts) as before.
 */
export function pseudoDirOption(description: string): Option {
  return new Option('--pseudo-dir <dir>', description).argParser((value: string) => {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(value);
    } catch {
      st = undefined;
    }
    if (!st) throw new MalaError(`--pseudo-dir ${value}: no such folder`, { file: value, fix: 'pass the folder that holds the UPF files (e.g. --pseudo-dir /usr/share/espresso/pseudo)' });
    if (!st.isDirectory()) throw new MalaError(`--pseudo-dir ${value} is a file, not a folder`, { file: value, fix: 'pass the folder that holds the UPF files, not a file' });
    return value;
  });
}

/**
 * The model file: --model, else $MALA_TS_MODEL. No model is one error; a $MALA_TS_MODEL that names
 * nothing is refused naming the variable (a user who never typed the path would not recognise it).
 */
export function modelFileOption(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const fix = 'pass --model FILE (a mala-ts model or a MALA model zip) or set MALA_TS_MODEL';
  if (given) return given;
  const fromEnv = env.MALA_TS_MODEL;
  if (!fromEnv) throw new MalaError('no model given', { fix });
  if (!fs.existsSync(fromEnv)) throw new MalaError(`MALA_TS_MODEL names '${fromEnv}', which does not exist`, { fix: `point MALA_TS_MODEL at a model file, or ${fix.replace(' or set MALA_TS_MODEL', '')}` });
  return fromEnv;
}
