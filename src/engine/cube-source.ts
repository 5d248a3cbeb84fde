/**
 * pp.x LDOS cubes (one per energy, 1/(Ry·Bohr³), read as 1/(eV·Å³)), streamed by energy. The
 * slices are kept between the two passes when they are small (≤ 1 GiB) and re-read otherwise.
 */
import { MalaError } from '../errors';
import { Cube, readLdosCubeSlice, sortLdosCubeFiles } from '../io/cube';
import type { LdosSource } from './ldos-source';

export interface CubeLdosSource extends LdosSource {
  /** The first cube (its header): cell and atoms when no structure is given. */
  readonly firstCube: Cube;
}

/** `expectShape`: the FFT grid the cubes must have (from the structure), checked on reading. */
export function cubeLdosSource(files: string[], energiesEv: Float64Array, opts: { expectShape?: number[]; name: string }): CubeLdosSource {
  const sorted = sortLdosCubeFiles(files);
  if (sorted.length !== energiesEv.length) {
    throw new MalaError(`${sorted.length} LDOS cube files given but the energy grid has ${energiesEv.length} energies`, { fix: 'pass one pp.x cube per energy of --energy-grid' });
  }
  const first = readLdosCubeSlice(sorted[0], 0, { energiesEv, shape: opts.expectShape });
  const shape = first.cube.shape;
  const pointCount = shape[0] * shape[1] * shape[2];
  const keep = pointCount * energiesEv.length * 8 <= 1 << 30;
  const cache: (Float64Array | undefined)[] = [];
  let passes = 0;
  const slice = (k: number): Float64Array => {
    if (k === 0 && first.ldosPerEvA3) return first.ldosPerEvA3;
    if (cache[k]) return cache[k]!;
    return readLdosCubeSlice(sorted[k], k, { energiesEv, shape, first: { cube: first.cube, file: sorted[0] } }).ldosPerEvA3;
  };
  return {
    gridShape: shape,
    pointCount,
    energyCount: energiesEv.length,
    kind: 'file',
    names: { dosPass: opts.name, densityPass: opts.name, dos: opts.name },
    clampNegative: false,
    firstCube: first.cube,
    pass: (sink, progress, label) => {
      const firstPass = passes++ === 0;
      progress.start(label, sorted.length, 'cubes');
      for (let k = 0; k < sorted.length; k++) {
        const s = slice(k);
        sink.addEnergySlice(k, s);
        if (firstPass && keep && k > 0) cache[k] = s;
        progress.tick();
      }
      progress.stop();
    },
    close: () => {
      cache.length = 0;
    },
  };
}
