import type { Command } from 'commander';
import { pseudoDirOption } from '../options';
import { commandSummary } from './table';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MalaError } from '../../errors';
import { positiveNumber } from '../args';
import { isCubeFileName } from '../../io/cube';
import { checkOutputs } from '../../io/output-check';
import { formatJson, formatSummary, observablesJson, writeResultsJson } from '../../io/results';
import { totalEnergy } from '../../qe/total-energy';
import { parseEnergyGrid } from '../../targets/energy-grid';
import { defaultProgress } from '../../util/progress';
import { computeObservables, LdosSource, TotalEnergyHook } from '../../workflow/observables';

interface Opts {
  ldos: string[];
  structure?: string;
  energyGrid: string;
  temperature?: string;
  electrons?: string;
  fermiEnergy?: string;
  json?: boolean;
  jsonOut?: string;
  densityOut?: string;
  dosOut?: string;
  plot?: string;
  pseudoDir?: string;
  chunkPoints?: string;
}


function ldosSource(args: string[]): LdosSource {
  // A single directory: all its .cube files (pp.x writes one per energy).
  let files = args;
  if (args.length === 1 && fs.existsSync(args[0]) && fs.statSync(args[0]).isDirectory()) {
    files = fs.readdirSync(args[0]).filter(isCubeFileName).map((f) => path.join(args[0], f));
    if (files.length === 0) throw new MalaError('no .cube files in the LDOS folder', { file: args[0], fix: 'pass the .npy LDOS or the folder with the pp.x LDOS cubes' });
  }
  if (files.length === 1 && path.extname(files[0]).toLowerCase() === '.npy') return { kind: 'npy', file: files[0] };
  const notCube = files.filter((f) => !isCubeFileName(f));
  if (notCube.length > 0) throw new MalaError(`--ldos takes one .npy file or pp.x .cube files, not ${notCube[0]}`, { file: notCube[0], fix: 'pass MALA\'s LDOS .npy (nx,ny,nz,N_E) or all LDOS cubes (e.g. tmp.pp*Be_ldos.cube)' });
  return { kind: 'cubes', files };
}

/** `--pseudo-dir`: the total-energy terms of src/qe, from the density and the structure. */
function totalEnergyHook(pseudoDir: string): TotalEnergyHook {
  return (ctx) => {
    const ecutrhoRy = ctx.metadata?.ecutrhoRy;
    if (ecutrhoRy === undefined) throw new MalaError('the total energy needs the density cutoff (ecutrho)', { file: ctx.metadata?.file, fix: 'pass --structure with the pw.x output' });
    const t = totalEnergy({
      cellAngstrom: ctx.cellAngstrom,
      positionsAngstrom: ctx.positionsAngstrom,
      species: ctx.species,
      grid: ctx.gridShape,
      densityPerA3: ctx.densityPerA3,
      ecutrhoRy,
      bandEnergyEv: ctx.bandEnergyEv,
      entropyContributionEv: ctx.entropyContributionEv,
      pseudoDir,
      pseudopotentialFiles: ctx.metadata?.pseudopotentialFiles,
    });
    return { totalEnergyEv: t.totalEnergyEv, termsEv: t.termsEv };
  };
}

export function register(program: Command): void {
  program
    .command('observables')
    .description(commandSummary('observables'))
    .requiredOption('--ldos <files...>', 'LDOS: one .npy (nx,ny,nz,N_E) in 1/(eV·Å³), or the pp.x LDOS cubes (1/(Ry·Bohr³)), one per energy (.cube or .cube.gz), or a folder of them')
    .requiredOption('--energy-grid <offset,spacing,count>', 'LDOS energy grid in eV: first energy, spacing, count, e.g. -5,2.5,11 (as pp.x emin, delta_e)')
    .option('--structure <file>', 'pw.x output (or input) of the snapshot: temperature, electron count, FFT grid, cell, atoms')
    .option('--temperature <K>', 'electronic temperature in K (default: QE smearing width · Rydberg / kB)')
    .option('--electrons <N>', 'number of electrons (default: QE "number of electrons")')
    .option('--fermi-energy <eV>', 'evaluate at this Fermi energy instead of the self-consistent one')
    .option('--json', 'print the results as JSON')
    .option('--json-out <file>', 'also write the JSON results to a file')
    .option('--density-out <file>', 'write the density: .cube (1/Bohr³, like pp.x) or .npy (1/Å³, (nx,ny,nz,1))')
    .option('--dos-out <file>', 'write the DOS as CSV (energy_ev,dos_per_ev)')
    .option('--plot <file>', 'DOS plot with the Fermi level marked (.svg or .png)')
    .addOption(pseudoDirOption('folder with the UPF files: adds Hartree/XC/Ewald and the total energy'))
    .option('--chunk-points <n>', 'grid points per block when streaming a .npy (default: ~8 MiB blocks)')
    .action(async (opts: Opts) => {
      const fermi = opts.fermiEnergy === undefined ? undefined : Number(opts.fermiEnergy);
      if (fermi !== undefined && !Number.isFinite(fermi)) throw new MalaError(`--fermi-energy ${opts.fermiEnergy} is not a number`);
      const chunk = positiveNumber(opts.chunkPoints, '--chunk-points');
      const ldos = ldosSource(opts.ldos);
      // all four outputs together, so two of them on one path are refused (the JSON would replace the DOS)
      const outputs = [
        { path: opts.dosOut, flag: '--dos-out' },
        { path: opts.densityOut, flag: '--density-out' },
        { path: opts.plot, flag: '--plot' },
        { path: opts.jsonOut, flag: '--json-out' },
      ].flatMap((o) => (o.path ? [{ path: o.path, kind: 'file' as const, flag: o.flag }] : []));
      checkOutputs(outputs, [...(ldos.kind === 'npy' ? [ldos.file] : ldos.files), opts.structure]);
      const result = await computeObservables({
        ldos,
        energyGrid: parseEnergyGrid(opts.energyGrid),
        structureFile: opts.structure,
        temperatureK: positiveNumber(opts.temperature, '--temperature'),
        electrons: positiveNumber(opts.electrons, '--electrons'),
        fermiEnergyEv: fermi,
        densityOut: opts.densityOut,
        dosOut: opts.dosOut,
        plotOut: opts.plot,
        chunkPoints: chunk === undefined ? undefined : Math.floor(chunk),
        totalEnergy: opts.pseudoDir ? totalEnergyHook(opts.pseudoDir) : undefined,
        progress: opts.json ? undefined : defaultProgress(),
      });
      const json = observablesJson(result);
      if (opts.jsonOut) writeResultsJson(opts.jsonOut, json);
      process.stdout.write(opts.json ? formatJson(json) : formatSummary(result));
    });
}
