/**
 * Bispectrum descriptors (LAMMPS compute sna/grid, spec §2) as a registered descriptor type:
 * blocks are computed from a periodic window of the atoms within the cutoff
 * (src/parallel/plane-blocks.ts), or by mala-ts' own kernel (engine 'native', bispectrum-native.ts,
 * the default where its addon is built). Under MPI each rank runs its own serial LAMMPS, on the
 * communicator's MPI_COMM_SELF handle.
 */
import { MalaError } from '../errors';
import { WindowedDescriptors } from '../parallel/plane-blocks';
import { bispectrumCount, type BispectrumParameters } from './bispectrum-parameters';
import { bispectrumEngine, openNativeBispectrum } from './bispectrum-native';
import type { DescriptorType } from './descriptor-type';

function num(record: Readonly<Record<string, unknown>>, key: string): number {
  const v = record[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new MalaError(`the model's bispectrum parameter '${key}' is missing or not a number (${JSON.stringify(v)})`, { fix: 'the model archive is inconsistent; re-export it' });
  }
  return v;
}

const flag = (record: Readonly<Record<string, unknown>>, key: string): 0 | 1 => (record[key] ? 1 : 0);

export const bispectrumType: DescriptorType<BispectrumParameters> = {
  name: 'Bispectrum',
  parameters(record) {
    const weights = record.elementWeights;
    return {
      twojmax: num(record, 'twojmax'),
      rcutfacAngstrom: num(record, 'rcutfac'),
      rfac0: num(record, 'rfac0'),
      rmin0Angstrom: num(record, 'rmin0'),
      switchflag: flag(record, 'switchflag'),
      bzeroflag: flag(record, 'bzeroflag'),
      quadraticflag: flag(record, 'quadraticflag'),
      elementWeights: Array.isArray(weights) ? (weights as number[]) : undefined,
    };
  },
  featureCount: (p) => bispectrumCount(p.twojmax, p.quadraticflag),
  open(p, { atoms, grid, comm, libraryPath, engine }) {
    if (bispectrumEngine(engine) === 'native') return openNativeBispectrum(p, atoms, grid);
    // several ranks: each its own serial LAMMPS (one rank alone may use the world communicator)
    const fortranCommunicator = comm.size > 1 ? comm.selfFortranHandle : undefined;
    const calc = new WindowedDescriptors(atoms, grid, p, { libraryPath, fortranCommunicator });
    return {
      featureCount: bispectrumCount(p.twojmax, p.quadraticflag),
      computeBlock: (b) => calc.computeBlock(b),
      close: () => calc.close(),
      report: () => ({ windowed: calc.windowed, wholeCell: calc.wholeCell }),
    };
  },
};
