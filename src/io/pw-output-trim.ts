/**
 * A pw.x output as pw.x prints it with verbosity = 'low' for 100 or more k-points: the k-point
 * list and every k-point's eigenvalues and occupations left out, everything else (structure,
 * cutoffs, grid, SCF, energies, forces, stress) line for line. A validation frame's output with
 * verbosity 'high' is ~1 MB of which the rest is ~15 kB; its eigenvalue band energy is kept in the
 * snapshot's info.json. pw.x's own two notices stand where the blocks were, so the text reads as
 * a verbosity-'low' run's (ASE's reader and src/structure/qe-output.ts read both alike).
 */

const KPOINTS_NOTICE = "     Number of k-points >= 100: set verbosity='high' to print them.";
const BANDS_NOTICE = "     Number of k-points >= 100: set verbosity='high' to print the bands.";

const isKPointLine = (line: string) => /^\s+k\(\s*\d+\) = \(.*\), wk =/.test(line);
const isCoordHeader = (line: string) => /^\s+(cart\. coord\. in units 2pi\/alat|cryst\. coord\.)\s*$/.test(line);

/**
 * The trimmed text, and how many k-point list and band blocks were left out. An output of fewer
 * than 100 k-points is returned as it is: verbosity 'low' prints its bands too (and it is small).
 */
export function trimPwOutput(text: string): { text: string; kPointLists: number; bandBlocks: number } {
  const kPoints = /number of k points=\s*(\d+)/.exec(text);
  if (!kPoints || Number(kPoints[1]) < 100) return { text, kPointLists: 0, bandBlocks: 0 };
  const lines = text.split('\n');
  const out: string[] = [];
  let kPointLists = 0;
  let bandBlocks = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    // "cart. coord." list, blank, "cryst. coord." list → blank + notice (what 'low' prints instead)
    if (isCoordHeader(line) && i + 1 < lines.length && isKPointLine(lines[i + 1])) {
      let j = i;
      for (;;) {
        if (isCoordHeader(lines[j])) j++;
        while (j < lines.length && isKPointLine(lines[j])) j++;
        // a blank line, then the next list's header: that list goes too
        if (j + 1 < lines.length && lines[j].trim() === '' && isCoordHeader(lines[j + 1]) && j + 2 < lines.length && isKPointLine(lines[j + 2])) {
          j++;
          continue;
        }
        break;
      }
      out.push('', KPOINTS_NOTICE);
      kPointLists++;
      i = j - 1;
      continue;
    }
    out.push(line);
    // the eigenvalue blocks between "End of self-consistent calculation" and the Fermi energy
    if (/^\s+End of (self-consistent|band structure) calculation\s*$/.test(line)) {
      let j = i + 1;
      while (j < lines.length && !/^\s+(the Fermi energy is|the spin up\/dw Fermi energies are|highest occupied)/.test(lines[j])) j++;
      const block = lines.slice(i + 1, j);
      if (j < lines.length && block.some((l) => /bands \(ev\):/.test(l))) {
        out.push('', BANDS_NOTICE, '');
        bandBlocks++;
        i = j - 1;
      }
    }
  }
  return { text: out.join('\n'), kPointLists, bandBlocks };
}
