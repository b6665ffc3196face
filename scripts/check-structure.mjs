#!/usr/bin/env node
// Structure checks of the library, run by `npm run lint`:
//  - no import circle between files of libs/webhooks/src (type-only imports count: they tie the files as much);
//  - no circle between its concept folders either, so imports run one way, down the layers;
//  - no file over MAX_LINES lines, except the option documentation.
// Spec files are left out: tests may reach anywhere.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'libs/webhooks/src');
const MAX_LINES = 400;
/** Long because they document every option in place. */
const LONG_ALLOWED = new Set(['webhooks.options.ts']);

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !/\.spec\.tsx?$/.test(name) ? [path] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function resolveImport(from, specifier) {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), `${base}.ts`, join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // next candidate
    }
  }
  return undefined;
}

const files = sources(src);
const edges = new Map(files.map((f) => [f, new Set()]));
const problems = [];
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(IMPORT)) {
    const target = resolveImport(file, match[1] ?? match[2]);
    if (target && edges.has(target)) edges.get(file).add(target);
  }
  const lines = text.split('\n').length;
  const name = relative(src, file);
  if (lines > MAX_LINES && !LONG_ALLOWED.has(name))
    problems.push(`${name} has ${lines} lines (at most ${MAX_LINES}): split it by concept.`);
}

/** Every circle of a graph, one per strongly connected component with more than one node (Tarjan). */
function circles(graph) {
  let index = 0;
  const stack = [];
  const meta = new Map();
  const found = [];
  const visit = (v) => {
    meta.set(v, { index, low: index, onStack: true });
    index++;
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!meta.has(w)) {
        visit(w);
        meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).low);
      } else if (meta.get(w).onStack) meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).index);
    }
    if (meta.get(v).low === meta.get(v).index) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        meta.get(w).onStack = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component);
    }
  };
  for (const v of graph.keys()) if (!meta.has(v)) visit(v);
  return found;
}

for (const circle of circles(edges)) {
  problems.push(`import circle between files: ${circle.map((f) => relative(src, f)).join(', ')}`);
}

// Folders: a file at the top of src is its own room; a folder's files make one room.
const room = (file) => relative(src, file).split('/')[0];
const folders = new Map();
for (const [from, targets] of edges) {
  for (const to of targets) {
    if (room(from) === room(to)) continue;
    if (!folders.has(room(from))) folders.set(room(from), new Set());
    folders.get(room(from)).add(room(to));
  }
}
for (const circle of circles(folders)) {
  const ties = [];
  for (const [from, targets] of edges) {
    for (const to of targets) {
      if (room(from) !== room(to) && circle.includes(room(from)) && circle.includes(room(to))) {
        ties.push(`${relative(src, from)} -> ${relative(src, to)}`);
      }
    }
  }
  problems.push(`import circle between folders ${circle.join(', ')}:\n    ${ties.join('\n    ')}`);
}

if (problems.length) {
  console.error(`Structure of libs/webhooks/src:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`Structure of libs/webhooks/src: ${files.length} files, no import circle, none over ${MAX_LINES} lines.`);
