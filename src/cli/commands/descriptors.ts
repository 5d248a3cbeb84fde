import type { Command } from 'commander';
import { commandSummary } from './table';
import { malaBispectrumDefaults as mala } from '../../descriptors/mala-defaults';
import { MalaError } from '../../errors';
import { finiteNumber } from '../args';
import { parseGrid } from '../../grid/grid';
import { StructureFormat, structureFormats } from '../../structure/registry';
import { defaultProgress } from '../../util/progress';
import { computeDescriptorsFileAsync } from '../../workflow/descriptors';
import { descriptorEngine } from '../../descriptors/descriptor-type';

function numberList(flag: string, text: string): number[] {
  const v = text.split(',').map((s) => Number(s.trim()));
  if (v.length === 0 || v.some((x) => !Number.isFinite(x))) throw new MalaError(`${flag} needs comma-separated numbers, got '${text}'`, { fix: `e.g. ${flag} 1,0.5` });
  return v;
}


interface Opts {
  out: string;
  grid?: string;
  forceGrid?: boolean;
  ecutrho?: string;
  twojmax?: string;
  rcutfac?: string;
  elementWeights?: string;
  switchflag?: string;
  xyz?: boolean;
  format?: string;
  elements?: string;
  json?: boolean;
  descriptorEngine?: string;
}

export function register(program: Command): void {
  program
    .command('descriptors')
    .description(commandSummary('descriptors'))
    .argument('<structure>', 'QE pw.x input or output, LAMMPS data or dump, extended XYZ')
    .requiredOption('-o, --out <file.npy>', 'output .npy (float32, z fastest, like MALA\'s .in.npy)')
    .option('--grid <NX,NY,NZ>', 'grid (default: the FFT grid of the QE output, or QE\'s choice from the cell and ecutrho)')
    .option('--force-grid', 'use --grid even where it is coarser than the grid the structure file states (or QE\'s rule gives): its energy terms are then wrong')
    .option('--ecutrho <Ry>', "charge-density cutoff (Ry) for QE's grid rule; overrides the structure file's ecutrho (a grid the file states, a pw.x output's FFT grid or nr1..3, still wins)")
    .option('--twojmax <N>', `twojmax (MALA default ${mala.twojmax}; use even values)`)
    .option('--rcutfac <Å>', `cutoff radius factor rcutfac in Å (MALA default ${mala.rcutfacAngstrom})`)
    .option('--element-weights <w1,w2,...>', 'weight per element in alphabetical element order (rescaled so the largest is 1)')
    .option('--switchflag <0|1>', `smooth cutoff switching (MALA default ${mala.switchflag})`)
    .option('--xyz', 'prepend 3 columns with the grid-point coordinates in Å (as MALA\'s .in.npy files do)')
    .option('--format <name>', `structure format instead of detecting it: ${structureFormats.join(', ')}`)
    .option('--elements <E1,E2,...>', 'LAMMPS data/dump: element of each atom type, type 1 first')
    .option('--json', 'print the result as JSON')
    .option('--descriptor-engine <name>', 'who computes them: lammps (LAMMPS sna/grid) or native (mala-ts\' own kernel); default $MALA_TS_DESCRIPTOR_ENGINE, else native where built, else lammps')
    .action(async (structure: string, o: Opts) => {
      if (o.format && !structureFormats.includes(o.format as StructureFormat)) {
        throw new MalaError(`unknown structure format '${o.format}'`, { fix: `use one of ${structureFormats.join(', ')}` });
      }
      const twojmax = finiteNumber(o.twojmax, '--twojmax');
      const switchflag = finiteNumber(o.switchflag, '--switchflag');
      if (switchflag !== undefined && switchflag !== 0 && switchflag !== 1) throw new MalaError('--switchflag must be 0 or 1');
      const res = await computeDescriptorsFileAsync({
        structureFile: structure,
        outFile: o.out,
        grid: o.grid ? parseGrid(o.grid) : undefined,
        refuseCoarseGrid: !o.forceGrid,
        ecutrhoRy: finiteNumber(o.ecutrho, '--ecutrho'),
        params: {
          twojmax,
          rcutfacAngstrom: finiteNumber(o.rcutfac, '--rcutfac'),
          elementWeights: o.elementWeights ? numberList('--element-weights', o.elementWeights) : undefined,
          switchflag: switchflag as 0 | 1 | undefined,
        },
        xyz: Boolean(o.xyz),
        engine: o.descriptorEngine === undefined ? undefined : descriptorEngine(o.descriptorEngine),
        read: { format: o.format as StructureFormat | undefined, typeElements: o.elements?.split(',').map((s) => s.trim()) },
        progress: defaultProgress(),
      });
      const summary = {
        out: res.outFile,
        shape: res.shape,
        grid: res.grid.grid,
        gridSource: res.grid.source,
        format: res.format,
        atoms: res.atoms.symbols.length,
        species: [...new Set(res.atoms.symbols)].sort(),
        twojmax: res.params.twojmax,
        rcutfacAngstrom: res.params.rcutfacAngstrom,
        seconds: res.seconds,
      };
      if (o.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      else {
        process.stdout.write(
          `wrote ${res.outFile}: shape (${res.shape.join(', ')}), grid ${res.grid.grid.join('×')} (${res.grid.source}), ` +
            `${summary.atoms} atoms [${summary.species.join(', ')}], twojmax ${res.params.twojmax}, ${res.seconds.toFixed(2)} s\n`,
        );
      }
    });
}
