/**
 * Inputs are regular files, checked before any read: /dev/zero as a structure or model was read
 * until 4 GB, a FIFO blocked forever. A path that does not exist is left to the reader (its own
 * "not found" message).
 */
import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import { MalaError } from '../errors';

/** Text inputs are read as one string: beyond JavaScript's string limit (~512 MiB) no reader can hold them. */
export const maxTextInputBytes = bufferConstants.MAX_STRING_LENGTH;

function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a pipe (FIFO): reading it would wait for a writer forever';
  if (st.isCharacterDevice()) return 'a character device: reading it may never end';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/**
 * Refuse `file` unless it is a regular file (symlinks followed) of at most `maxBytes`; `what`
 * names it in the message ("structure file", "model").
 */
export function checkInputFile(file: string, what: string, o: { maxBytes?: number; allowDirectory?: boolean } = {}): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return; // missing or unreadable: the reader says so
  }
  if (st.isDirectory() && o.allowDirectory) return;
  if (!st.isFile()) {
    throw new MalaError(`the ${what} is ${kindOf(st)}`, { file, fix: `pass the ${what} as a regular file (save the stream to a file first)` });
  }
  if (o.maxBytes !== undefined && st.size > o.maxBytes) {
    throw new MalaError(`the ${what} is ${(st.size / 2 ** 20).toFixed(0)} MiB, more than the ${(o.maxBytes / 2 ** 20).toFixed(0)} MiB a text input can be read as`, { file, fix: `pass the ${what} itself (not a larger file), or split it` });
  }
}
