/**
 * One error type for everything a user can fix: bad input files, missing native libraries,
 * failed external programs. The CLI prints `message` (and `fix`) and exits non-zero;
 * anything else reaching the top level is a bug and prints a stack trace.
 */
export class MalaError extends Error {
  /** The file or resource the problem is about, when there is one. */
  readonly file?: string;
  /** One sentence telling the user what to do about it. */
  readonly fix?: string;

  constructor(message: string, opts: { file?: string; fix?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MalaError';
    this.file = opts.file;
    this.fix = opts.fix;
  }

  /** Message for a terminal: "file: problem\n  fix: ...", with control characters escaped (printableText). */
  describe(): string {
    const where = this.file && !this.message.includes(this.file) ? `${this.file}: ` : '';
    return printableText(`${where}${this.message}${this.fix ? `\n  fix: ${this.fix}` : ''}`);
  }
}

/**
 * Text safe for a terminal: control characters (C0 but tab and newline, DEL, C1) and Unicode
 * direction overrides, which messages quote from input files and which would move the cursor,
 * recolour or clear the screen, become visible escapes (\x1b, \u202e).
 */
export function printableText(s: string): string {
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16)}`;
  });
}

export function isMalaError(e: unknown): e is MalaError {
  return e instanceof MalaError;
}
