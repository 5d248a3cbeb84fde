/**
 * `mala-ts infer`: descriptors .npy (nx,ny,nz,F) → LDOS .npy (nx,ny,nz,nE) in 1/(eV·Å³), read
 * and written in chunks so grids larger than memory work; the output appears only when complete.
 */
import { MalaError } from '../errors';
import { NpyFile, NpyStreamWriter } from '../io/npy';
import { checkOutputs } from '../io/output-check';
import type { BackendName } from '../network/backends';
import type { DeviceChoice } from '../network/device';
import { DEFAULT_CHUNK_POINTS, loadModel, type LdosModel } from '../network/model';
import { silentProgress, type Progress } from '../util/progress';
import { yieldToSignals } from '../util/cleanup';

export interface InferOptions {
  model: string | LdosModel;
  descriptors: string;
  out: string;
  /** Leading xyz columns; 'auto' drops 3 when the file has exactly 3 more features than the model. */
  xyzColumns?: number | 'auto';
  chunkPoints?: number;
  backend?: BackendName | 'auto';
  /** Network device: 'auto', 'cpu', 'cuda' or 'cuda:N' (for a model loaded here). */
  device?: string;
}

export interface InferResult {
  out: string;
  shape: number[];
  backend: string;
  /** The device and why. */
  device: DeviceChoice;
  seconds: number;
  pointsPerSecond: number;
}

export async function runInference(opts: InferOptions, progress: Progress = silentProgress): Promise<InferResult> {
  checkOutputs([{ path: opts.out, kind: 'file', flag: '--out' }], [typeof opts.model === 'string' ? opts.model : opts.model.source, opts.descriptors]);
  const model = typeof opts.model === 'string' ? loadModel(opts.model, { backend: opts.backend, device: opts.device }) : opts.model;
  const src = new NpyFile(opts.descriptors);
  try {
    const fIn = src.rowLength;
    const nF = model.nFeatures;
    const xyz = opts.xyzColumns === undefined || opts.xyzColumns === 'auto' ? (fIn === nF + 3 ? 3 : 0) : opts.xyzColumns;
    if (fIn !== nF + xyz) {
      throw new MalaError(`descriptors have ${fIn} features per point; the model expects ${nF}${xyz ? ` plus ${xyz} xyz columns` : ''}`, {
        file: opts.descriptors,
        fix: `compute descriptors with the model's settings (twojmax ${model.data.descriptors.twojmax} → ${nF} coefficients)`,
      });
    }
    const shape = [...src.shape.slice(0, -1), model.nEnergies];
    checkOutputs([{ path: opts.out, kind: 'file', flag: '--out', expectedBytes: src.rowCount * model.nEnergies * 4 }]);
    const writer = new NpyStreamWriter(opts.out, shape, 'float32');
    const chunk = opts.chunkPoints ?? DEFAULT_CHUNK_POINTS * 4;
    const t0 = Date.now();
    progress.start('inference', src.rowCount, 'points');
    try {
      for (let p0 = 0; p0 < src.rowCount; p0 += chunk) {
        const n = Math.min(chunk, src.rowCount - p0);
        const rows = src.readRows(p0, n);
        let x: Float32Array;
        if (xyz === 0 && rows instanceof Float32Array) x = rows;
        else {
          x = new Float32Array(n * nF);
          for (let p = 0; p < n; p++) for (let k = 0; k < nF; k++) x[p * nF + k] = rows[p * fIn + xyz + k];
        }
        const ldos = await model.predictLdos(x, n, { onChunk: (m) => progress.tick(m), pointOffset: p0 });
        writer.write(ldos);
        await yieldToSignals(); // a Ctrl-C is handled between chunks (src/util/cleanup.ts)
      }
      writer.close();
    } catch (e) {
      writer.abort();
      if (e instanceof MalaError && !e.file) throw new MalaError(e.message, { file: opts.descriptors, fix: e.fix, cause: e });
      throw e;
    } finally {
      progress.stop();
    }
    const seconds = (Date.now() - t0) / 1000;
    return { out: opts.out, shape, backend: model.backend().device, device: model.deviceChoice(), seconds, pointsPerSecond: src.rowCount / Math.max(seconds, 1e-9) };
  } finally {
    src.close();
  }
}
