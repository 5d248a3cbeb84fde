/**
 * Watch mode: predict every new or changed structure file in a folder, one JSON line per file.
 *
 * - chokidar reports a file once it has stopped changing (awaitWriteFinish: its size is stable
 *   for `settleMs`), so a file still being written is not read half-way;
 * - files are predicted one at a time with one loaded model (bounded memory); a file changed
 *   again while queued is predicted once, a file changed while being predicted once more after;
 * - each result is one line appended to the JSONL log with a single write() on an O_APPEND
 *   descriptor (and fsync), so a line is whole or absent, and other appenders do not interleave;
 * - a file that cannot be predicted gets a line with `error` (and `fix`) and is skipped;
 * - stop() stops watching, drops queued files, lets the file in progress finish and log its
 *   line, and closes the log: nothing half-written;
 * - symlinked folders are not followed (a link to `..` made an endless tree); a watcher error
 *   (a symlink loop: ELOOP, a folder it may not read: EACCES) is one error line per path, and
 *   watching goes on; the watched folder itself vanishing stops the watch (`closed` rejects).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type chokidarType from 'chokidar';
import { isMalaError, MalaError } from '../errors';
import { LdosModel, loadModel } from '../network/model';
import { predict, predictJson, PredictOptions } from './predict';
import { checkOutputs } from '../io/output-check';

/** Extensions the structure readers know (src/structure/registry.ts). */
export const defaultWatchPattern = '*.{out,pwo,log,in,pwi,data,lmp,lammps,lmpdat,dump,lammpstrj,xyz,extxyz}';

export interface WatchOptions {
  dir: string;
  /** A loaded model, or a model file loaded once at start. */
  model: LdosModel | string;
  /** Glob on the file name (or on the path relative to `dir` when it contains '/'); default: structure extensions. */
  pattern?: string;
  /** JSONL log; default <dir>/mala-ts-watch.jsonl. */
  logFile?: string;
  /** Also write predict's files (results.json, density.cube, dos.csv, dos.svg) to <outDir>/<file>/. */
  outDir?: string;
  /** A file must keep its size this long before it is read (ms, default 500). */
  settleMs?: number;
  /** Predict files already in the folder at start (default true). */
  processExisting?: boolean;
  /** Poll instead of inotify (network file systems). */
  usePolling?: boolean;
  /** Passed to predict for every file (pseudoDir, memoryMb, temperatureK, backend, ...). */
  predictOptions?: Omit<PredictOptions, 'structureFile' | 'atoms' | 'structureRead' | 'model' | 'modelFile' | 'outDir'>;
  /** Called after each line is logged. */
  onRecord?: (record: WatchRecord) => void;
}

/** One log line: predict --json's keys (without the DOS arrays) or an error. */
export interface WatchRecord {
  file: string;
  ok: boolean;
  finished_at: string;
  size_bytes?: number;
  mtime_ms?: number;
  error?: string;
  fix?: string;
  [key: string]: unknown;
}

export interface WatchHandle {
  /** Resolves once the initial scan is done and events are being watched. */
  ready: Promise<void>;
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>;
  /** Stop cleanly (see the module comment). */
  stop(): Promise<void>;
  /** Resolves after stop(); rejects (after stopping) when the watched folder is deleted. */
  closed: Promise<void>;
  readonly logFile: string;
  /** Lines written so far. */
  readonly recordCount: number;
}

/** A glob (*, **, ?, [..], {a,b}) as a RegExp over '/'-separated paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let inClass = false;
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (inClass) {
      if (c === ']') inClass = false;
      re += c === '\\' ? '\\\\' : c;
      continue;
    }
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // "**/" matches any number of folders, "**" anything
        if (glob[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i++;
        }
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      inClass = true;
      re += '[';
      if (glob[i + 1] === '!') {
        re += '^';
        i++;
      }
    } else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (c === ',' && braces > 0) re += '|';
    else re += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  if (inClass || braces > 0) throw new MalaError(`unbalanced [ or { in the pattern '${glob}'`, { fix: "write e.g. --pattern '*.{xyz,out}'" });
  return new RegExp(`^${re}$`);
}

/** Append one whole line with a single write on an O_APPEND descriptor. */
class JsonlLog {
  private fd: number;
  count = 0;

  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    try {
      this.fd = fs.openSync(file, 'a');
    } catch (e) {
      throw new MalaError(`cannot open the log for appending: ${(e as Error).message}`, { file, fix: 'pass --log with a writable file', cause: e });
    }
  }

  append(record: unknown): void {
    const line = Buffer.from(JSON.stringify(record) + '\n');
    const n = fs.writeSync(this.fd, line);
    // a short write on a regular file means a full disk; finish the line rather than leave half
    if (n < line.length) fs.writeSync(this.fd, line.subarray(n));
    fs.fsyncSync(this.fd);
    this.count++;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Start watching; throws MalaError for a missing folder or an unreadable model. */
export function watchFolder(opts: WatchOptions): WatchHandle {
  const dir = path.resolve(opts.dir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new MalaError(`${dir} is not a folder`, { file: dir, fix: 'pass an existing folder to watch' });
  // the log and the output folder are checked before the model is loaded (src/io/output-check.ts)
  checkOutputs([{ path: opts.logFile ?? path.join(dir, 'mala-ts-watch.jsonl'), kind: 'file', flag: '--log' }, ...(opts.outDir ? [{ path: opts.outDir, kind: 'dir' as const, flag: '--out' }] : [])], [typeof opts.model === 'string' ? opts.model : undefined]);
  const model = typeof opts.model === 'string' ? loadModel(opts.model, { backend: opts.predictOptions?.backend, device: opts.predictOptions?.device }) : opts.model;
  const pattern = opts.pattern ?? defaultWatchPattern;
  const matcher = globToRegExp(pattern);
  const onPath = pattern.includes('/');
  const logFile = path.resolve(opts.logFile ?? path.join(dir, 'mala-ts-watch.jsonl'));
  const outDir = opts.outDir ? path.resolve(opts.outDir) : undefined;
  const log = new JsonlLog(logFile);

  const wanted = (file: string): boolean => {
    const abs = path.resolve(file);
    if (abs === logFile || (outDir && (abs === outDir || abs.startsWith(outDir + path.sep)))) return false;
    const rel = path.relative(dir, abs).split(path.sep).join('/');
    return matcher.test(onPath ? rel : path.basename(abs));
  };

  const queue: string[] = [];
  let running: string | undefined;
  let rerun = false;
  let stopping = false;
  let worker: Promise<void> | undefined;
  let idleWaiters: (() => void)[] = [];

  const enqueue = (file: string) => {
    if (stopping || !wanted(file)) return;
    const abs = path.resolve(file);
    if (abs === running) rerun = true;
    else if (!queue.includes(abs)) queue.push(abs);
    if (!worker) worker = work();
  };

  async function predictOne(file: string): Promise<WatchRecord> {
    const base: WatchRecord = { file, ok: false, finished_at: '' };
    try {
      const st = fs.statSync(file);
      base.size_bytes = st.size;
      base.mtime_ms = st.mtimeMs;
      const rel = path.relative(dir, file);
      const r = await predict({ ...opts.predictOptions, structureFile: file, model, outDir: outDir ? path.join(outDir, rel) : undefined });
      const { energies_ev: _e, dos_per_ev: _d, ...json } = predictJson(r) as Record<string, unknown>;
      return { ...base, ...json, ok: true, finished_at: new Date().toISOString() };
    } catch (e) {
      const rec: WatchRecord = { ...base, ok: false, finished_at: new Date().toISOString() };
      if (isMalaError(e)) {
        rec.error = e.message;
        if (e.fix) rec.fix = e.fix;
      } else rec.error = `internal error (please report): ${(e as Error)?.stack ?? String(e)}`;
      return rec;
    }
  }

  async function work(): Promise<void> {
    while (queue.length > 0 && !stopping) {
      running = queue.shift()!;
      rerun = false;
      const record = await predictOne(running);
      log.append(record);
      opts.onRecord?.(record);
      if (rerun && !stopping) queue.push(running);
      running = undefined;
    }
    worker = undefined;
    const w = idleWaiters;
    idleWaiters = [];
    for (const f of w) f();
  }

  const settleMs = opts.settleMs ?? 500;
  // chokidar on first use: every other command would pay its ~70 ms of start-up otherwise
  const chokidar = require('chokidar') as typeof chokidarType;
  const watcher = chokidar.watch(dir, {
    ignoreInitial: opts.processExisting === false,
    awaitWriteFinish: { stabilityThreshold: settleMs, pollInterval: Math.max(20, Math.min(100, settleMs / 5)) },
    usePolling: opts.usePolling,
    followSymlinks: false,
    ignored: (p: string) => {
      const abs = path.resolve(p);
      return abs === logFile || (outDir !== undefined && (abs === outDir || abs.startsWith(outDir + path.sep)));
    },
  });
  watcher.on('add', enqueue);
  watcher.on('change', enqueue);
  let isReady = false;
  const ready = new Promise<void>((resolve, reject) => {
    watcher.once('ready', () => {
      isReady = true;
      resolve();
    });
    watcher.once('error', (e) => {
      if (!isReady) reject(new MalaError(`cannot watch ${dir}: ${(e as Error).message}`, { file: dir, cause: e }));
    });
  });
  // Later errors (an uncaught ELOOP crashed the watcher): one line per path, and go on.
  const reported = new Set<string>();
  watcher.on('error', (e) => {
    if (!isReady || stopping) return;
    const err = e as NodeJS.ErrnoException;
    const where = err.path ?? dir;
    if (reported.has(where)) return;
    reported.add(where);
    const why = err.code === 'ELOOP' ? 'a symlink loop (too many levels of symbolic links)' : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : err.message;
    const record: WatchRecord = { file: where, ok: false, finished_at: new Date().toISOString(), error: `cannot watch ${where}: ${why}; skipped, the rest of ${dir} is still watched`, fix: err.code === 'ELOOP' ? 'remove the symlink loop' : 'fix the permissions, or ignore the path' };
    log.append(record);
    opts.onRecord?.(record);
  });

  let closeWith: ((e?: MalaError) => void) | undefined;
  const closed = new Promise<void>((resolve, reject) => {
    closeWith = (e) => (e ? reject(e) : resolve());
  });
  closed.catch(() => undefined); // a caller that never awaits it is not an unhandled rejection

  async function stop(): Promise<void> {
    if (stopping) return;
    stopping = true;
    clearInterval(rootCheck);
    queue.length = 0;
    await watcher.close();
    if (worker) await worker;
    log.close();
  }

  // The watched folder deleted: chokidar says nothing on some platforms, so look once a second.
  let rootGone = false;
  const onRootGone = () => {
    if (rootGone || stopping) return;
    rootGone = true;
    const e = new MalaError(`the watched folder ${dir} was deleted or moved; stopped watching`, { file: dir, fix: 'recreate the folder and start mala-ts watch again' });
    // the log's line; the caller reports `closed`'s error (once)
    log.append({ file: dir, ok: false, finished_at: new Date().toISOString(), error: e.message, fix: e.fix } satisfies WatchRecord);
    stop().then(() => closeWith?.(e), () => closeWith?.(e));
  };
  const rootCheck = setInterval(() => {
    if (!fs.existsSync(dir)) onRootGone();
  }, 1000);
  rootCheck.unref();
  watcher.on('unlinkDir', (p: string) => {
    if (path.resolve(p) === dir) onRootGone();
  });

  return {
    ready,
    closed,
    logFile,
    get recordCount() {
      return log.count;
    },
    idle: () => (worker ? new Promise<void>((r) => idleWaiters.push(r)) : Promise.resolve()),
    async stop() {
      await stop();
      closeWith?.();
    },
  };
}
