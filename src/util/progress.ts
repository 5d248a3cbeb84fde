/**
 * Progress for long work: a bar with rate and ETA on a terminal, nothing in CI or when stderr is
 * not a TTY (or with MALA_TS_QUIET=1). Physics code receives a `Progress` and only calls
 * `tick`; the caller decides whether it is shown.
 */
import * as cliProgress from 'cli-progress';

export interface Progress {
  /** Begin a stage of `total` units (grid points, energies, epochs...). */
  start(label: string, total: number, unit?: string): void;
  /** Advance by `n` units. */
  tick(n?: number): void;
  /** End the stage. */
  stop(): void;
}

/** A Progress that shows nothing. */
export const silentProgress: Progress = { start() {}, tick() {}, stop() {} };

export function progressEnabled(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.CI && process.env.MALA_TS_QUIET !== '1';
}

/** Terminal bar: "label [████░░░] 42% | 12345/30000 points | 5.2k points/s | ETA 3s". */
export class TerminalProgress implements Progress {
  private bar?: cliProgress.SingleBar;
  private value = 0;
  private t0 = 0;
  private unit = '';

  start(label: string, total: number, unit = 'items'): void {
    this.stop();
    this.value = 0;
    this.t0 = Date.now();
    this.unit = unit;
    this.bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${label.padEnd(14)} [{bar}] {percentage}% | {value}/{total} {unit} | {rate} {unit}/s | ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, 0, { rate: '-', unit });
  }

  tick(n = 1): void {
    if (!this.bar) return;
    this.value += n;
    const s = (Date.now() - this.t0) / 1000;
    const rate = s > 0 ? this.value / s : 0;
    const rateText = rate >= 1e4 ? `${(rate / 1e3).toFixed(1)}k` : rate.toFixed(1);
    this.bar.update(this.value, { rate: rateText, unit: this.unit });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

/** The progress a command should use: a bar on a terminal, silent otherwise. */
export function defaultProgress(): Progress {
  return progressEnabled() ? new TerminalProgress() : silentProgress;
}
