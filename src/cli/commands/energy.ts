import type { Command } from 'commander';
import { pseudoDirOption } from '../options';
import { commandSummary } from './table';
import { MalaError } from '../../errors';
import { finiteNumber } from '../args';
import { defaultProgress } from '../../util/progress';
import { EnergyReport, runEnergy } from '../../workflow/energy';

interface Opts {
  density: string;
  structure: string;
  pseudoDir?: string;
  bandEnergy?: string;
  entropy?: string;
  json?: boolean;
}


function formatText(r: EnergyReport): string {
  const rows: [string, number][] = [
    ['e_rho_times_v_hxc', r.termsEv.e_rho_times_v_hxc],
    ['e_hartree', r.termsEv.e_hartree],
    ['e_xc', r.termsEv.e_xc],
    ['e_ewald', r.termsEv.e_ewald],
  ];
  if (r.total) rows.unshift(['e_band', r.total.termsEv.e_band]), rows.push(['e_entropy', r.total.termsEv.e_entropy], ['total_energy', r.total.totalEnergyEv]);
  const lines = [`functional ${r.functional.toUpperCase()}, grid ${r.grid.join('×')}, ${r.gVectorCount} G-vectors`, ...rows.map(([k, v]) => `${k.padEnd(18)} ${v.toFixed(8).padStart(18)} eV`)];
  if (!r.total) lines.push('(pass --band-energy and --entropy, in eV, for the total energy)');
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('energy')
    .description(commandSummary('energy'))
    .requiredOption('--density <file>', 'density on the DFT FFT grid: MALA .npy (nx,ny,nz[,1]) in 1/Å³, or a pp.x plot_num=0 .cube')
    .requiredOption('--structure <file>', 'pw.x input or output of the snapshot (cell, atoms, ecutrho, pseudopotential names)')
    .addOption(pseudoDirOption("folder with the UPF files (default: the input's pseudo_dir, else the structure file's folder)"))
    .option('--band-energy <eV>', 'band energy from the (L)DOS, to assemble the total energy')
    .option('--entropy <eV>', 'entropy term −TS in eV (default 0)')
    .option('--json', 'print JSON with every term in eV and Ry')
    .action((opts: Opts) => {
      const r = runEnergy({
        densityFile: opts.density,
        structureFile: opts.structure,
        pseudoDir: opts.pseudoDir,
        bandEnergyEv: finiteNumber(opts.bandEnergy, '--band-energy', '12.447'),
        entropyContributionEv: finiteNumber(opts.entropy, '--entropy', '-0.000655'),
        progress: defaultProgress(),
      });
      for (const w of r.warnings) process.stderr.write(`mala-ts: warning: ${w}\n`);
      if (opts.json) {
        const d = r.details;
        const out = {
          density: r.density,
          structure: r.structure,
          pseudo_dir: r.pseudoDir,
          functional: r.functional,
          grid: r.grid,
          g_vectors: r.gVectorCount,
          terms_ev: r.total ? r.total.termsEv : r.termsEv,
          terms_ry: r.total ? r.total.termsRy : r.termsRy,
          total_energy_ev: r.total?.totalEnergyEv,
          total_energy_ry: r.total?.totalEnergyRy,
          vtxc_ry: d.vtxcRy,
          electrons: d.electronsFiltered,
          core_electrons: d.coreElectrons,
          ewald_alpha: d.ewaldAlpha,
          warnings: r.warnings,
        };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } else process.stdout.write(formatText(r) + '\n');
    });
}
