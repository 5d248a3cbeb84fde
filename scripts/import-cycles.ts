/**
 * Lists import cycles between the TypeScript modules under a folder (default: src/) and exits 1
 * when there is one. Every relative import counts, `import type` and `export ... from` included
 * (as madge counts them): a type-only cycle still ties two modules together.
 * Usage: npx tsx scripts/import-cycles.ts [dir]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The file a relative specifier names (x.ts or x/index.ts), or undefined (package, JSON, addon). */
function resolve(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  return [`${base}.ts`, path.join(base, 'index.ts'), base].find((f) => f.endsWith('.ts') && fs.existsSync(f));
}

/** Module → modules it imports (relative imports inside the scanned folder only). */
export function importGraph(dir: string): Map<string, string[]> {
  const files = tsFiles(path.resolve(dir));
  const inside = new Set(files);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const info = ts.preProcessFile(fs.readFileSync(f, 'utf8'), true, true);
    const deps = info.importedFiles.map((i) => resolve(f, i.fileName)).filter((d): d is string => !!d && inside.has(d));
    graph.set(f, [...new Set(deps)]);
  }
  return graph;
}

/** One cycle per strongly connected component with more than one module (or a self-import). */
export function importCycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's strongly connected components.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const sccs: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) sccs.push(scc);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  // A concrete path for each component: breadth-first from its first module back to itself.
  return sccs.map((scc) => {
    const members = new Set(scc);
    const start = [...scc].sort()[0];
    const prev = new Map<string, string>();
    const queue = [start];
    while (queue.length) {
      const v = queue.shift()!;
      for (const w of graph.get(v) ?? []) {
        if (!members.has(w)) continue;
        if (w === start) {
          const cycle = [v];
          while (cycle[0] !== start) cycle.unshift(prev.get(cycle[0])!);
          return [...cycle, start];
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    return [...scc, scc[0]];
  });
}

if (require.main === module) {
  const dir = process.argv[2] ?? path.join(__dirname, '..', 'src');
  const cycles = importCycles(importGraph(dir));
  const rel = (f: string) => path.relative(path.resolve(dir), f);
  for (const c of cycles) process.stdout.write(`cycle: ${c.map(rel).join(' → ')}\n`);
  process.stdout.write(`${cycles.length} import cycle${cycles.length === 1 ? '' : 's'} under ${dir}\n`);
  process.exitCode = cycles.length ? 1 : 0;
}
