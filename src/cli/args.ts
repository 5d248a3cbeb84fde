/** Parsing of numeric command-line values, with one clear error per bad flag. */
import { MalaError } from '../errors';

/** A finite number, or undefined when the flag was not given. */
export function finiteNumber(text: string | undefined, flag: string, example = '1.0'): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw new MalaError(`${flag} needs a number, got '${text}'`, { fix: `e.g. ${flag} ${example}` });
  return v;
}

/** A number > 0, or undefined when the flag was not given. */
export function positiveNumber(text: string | undefined, flag: string, example = '300'): number | undefined {
  const v = finiteNumber(text, flag, example);
  if (v !== undefined && !(v > 0)) throw new MalaError(`${flag} ${text} must be a positive number`, { fix: `e.g. ${flag} ${example}` });
  return v;
}
