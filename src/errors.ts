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

  /** Message for a terminal: "file: problem\n  fix: ...". */
  describe(): string {
    const where = this.file && !this.message.includes(this.file) ? `${this.file}: ` : '';
    return `${where}${this.message}${this.fix ? `\n  fix: ${this.fix}` : ''}`;
  }
}

export function isMalaError(e: unknown): e is MalaError {
  return e instanceof MalaError;
}
