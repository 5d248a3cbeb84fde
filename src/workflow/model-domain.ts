/**
 * `mala-ts model-domain`: record the training domain (src/domain/) of an existing mala-ts model
 * from its training structures: their descriptors with the model's own parameters (computed here,
 * or given as .npy files, e.g. a training set's .in.npy), their atoms, grid, temperature,
 * ecutrho and smearing (pw.x inputs/outputs). Only model.json changes: the weights file is copied
 * byte for byte, so its checksum (model.json `weights.sha256`) stays what it was.
 */
import * as fs from 'node:fs';
import { unzipSync, zipSync } from 'fflate';
import { MalaError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import { readNpy } from '../io/npy';
import { TrainingDomainBuilder, type TrainingDomain } from '../domain/training-domain';
import { openDescriptorSource } from '../engine/descriptor-source';
import type { DescriptorEngine } from '../descriptors/descriptor-type';
import { loadModel, sha256 } from '../network/model';
import { serialComm } from '../parallel/comm';
import { blockPointCount, gridBlocks, defaultMaxBlockPoints } from '../parallel/plane-blocks';
import { calculationContext } from '../qe/calculation-context';
import { speciesOf } from '../structure/atoms';
import { readStructure } from '../structure/registry';
import { silentProgress, type Progress } from '../util/progress';
import { checkCompatible } from './predict';

export interface ModelDomainOptions {
  modelFile: string;
  /** Training structures (pw.x inputs/outputs or any structure format). */
  structures: string[];
  /** Their descriptors, one .npy per structure (same order); default: computed here. */
  descriptorsFiles?: string[];
  /** Where the model with its domain goes (may be modelFile itself). */
  out: string;
  engine?: DescriptorEngine;
  /** Written into the domain's `recordedBy`. */
  recordedBy?: string;
  progress?: Progress;
}

export interface ModelDomainResult {
  domain: TrainingDomain;
  out: string;
  weightsSha256: string;
}


/** Descriptors of one structure (points × features), from a .npy (xyz columns dropped) or computed. */
function structureDescriptors(file: string | undefined, compute: () => Float32Array, nFeatures: number, pointCount: number): Float32Array {
  if (!file) return compute();
  const d = readNpy(file);
  const F = d.shape[d.shape.length - 1];
  const n = d.data.length / F;
  if (n !== pointCount || (F !== nFeatures && F !== nFeatures + 3)) {
    throw new MalaError(`descriptor file has ${n} points × ${F} features; the structure's grid has ${pointCount} points and the model ${nFeatures} features (+3 xyz allowed)`, { file, fix: 'pass the descriptors of this structure, computed with the model\'s parameters' });
  }
  const skip = F - nFeatures;
  const x = new Float32Array(n * nFeatures);
  for (let p = 0; p < n; p++) for (let k = 0; k < nFeatures; k++) x[p * nFeatures + k] = d.data[p * F + skip + k];
  return x;
}

export function recordModelDomain(o: ModelDomainOptions): ModelDomainResult {
  const progress = o.progress ?? silentProgress;
  if (o.structures.length === 0) throw new MalaError('no training structures given', { fix: 'pass --structures with the pw.x inputs the model was trained on' });
  if (o.descriptorsFiles && o.descriptorsFiles.length !== o.structures.length) {
    throw new MalaError(`${o.descriptorsFiles.length} descriptor files for ${o.structures.length} structures`, { fix: 'pass one --descriptors file per structure, in the same order' });
  }
  const bytes = fs.existsSync(o.modelFile) && fs.statSync(o.modelFile).isFile() ? fs.readFileSync(o.modelFile) : undefined;
  const files = bytes ? unzipSync(bytes) : undefined;
  if (!files?.['model.json']) {
    throw new MalaError('model-domain writes into a mala-ts model archive (a .zip with model.json)', { file: o.modelFile, fix: 'check the --model path; import a MALA model first with mala-ts import-model' });
  }
  const model = loadModel(o.modelFile, { backend: 'ts' });
  const nFeatures = model.nFeatures;
  const ref = model.data.reference;
  const ecutrhoDefault = (ref?.malaInfo as { ecutrho?: number } | undefined)?.ecutrho;
  const builder = new TrainingDomainBuilder(nFeatures);

  progress.start('training domain', o.structures.length, 'structures');
  o.structures.forEach((file, i) => {
    const read = readStructure(file);
    // a domain of elements the model does not know would make predict trust structures it cannot predict
    checkCompatible(model, speciesOf(read.atoms), file);
    const context = calculationContext({ atoms: read.atoms, source: file, read }, {}, { temperatureK: ref?.temperatureK, electronsPerAtom: ref?.electronsPerAtom, ecutrhoRy: ecutrhoDefault });
    const grid = context.grid.grid;
    const pointCount = grid[0] * grid[1] * grid[2];
    const x = structureDescriptors(o.descriptorsFiles?.[i], () => {
      const source = openDescriptorSource({ atoms: read.atoms, grid, descriptors: model.data.descriptors, engine: o.engine, nFeatures, modelSource: model.source, comm: serialComm });
      try {
        // block order = grid order here (one rank, whole planes): the statistics do not care anyway
        const out = new Float32Array(pointCount * nFeatures);
        let at = 0;
        for (const block of gridBlocks(grid, defaultMaxBlockPoints, false)) {
          const n = blockPointCount(block, grid) * nFeatures;
          out.set(source.computeBlock(block).subarray(0, n), at);
          at += n;
        }
        return out;
      } finally {
        source.close();
      }
    }, nFeatures, pointCount);
    builder.addStructure(x, pointCount, { atoms: read.atoms, temperatureK: context.temperatureK, ecutrhoRy: context.ecutrhoRy, smearing: context.facts.smearing, grid });
    progress.tick(1);
  });
  progress.stop();
  const domain = builder.finish(o.recordedBy);

  // model.json gets the domain; the weights file is copied unchanged
  const json = JSON.parse(Buffer.from(files['model.json']).toString('utf8')) as Record<string, unknown> & { weights: { file: string } };
  json.domain = domain;
  const weightsName = json.weights.file;
  const out: Record<string, [Uint8Array, { level: 0 }]> = {};
  for (const [name, data] of Object.entries(files)) out[name] = [name === 'model.json' ? Buffer.from(JSON.stringify(json, null, 1), 'utf8') : data, { level: 0 }];
  writeFileAtomic(o.out, zipSync(out));
  return { domain, out: o.out, weightsSha256: sha256(files[weightsName]) };
}
