#!/usr/bin/env node
/* global console, process */
// Prints which top-level folders import which (type-only imports included) and the cycles among them.
// Usage: node tools/lint/folder-graph.mjs — exits 1 when there is a cycle. Tooling folders (test, bench,
// scripts, simulators, tools) are left out: they may depend on everything.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TOOLING = new Set(['test', 'bench', 'scripts', 'simulators', 'tools', 'node_modules']);
const IMPORT = /(?:\bfrom|\bimport\(|\brequire\(|^import)\s*['"](\.{1,2}\/[^'"]*)['"]/gm;

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], {
  cwd: ROOT,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f && fs.existsSync(path.join(ROOT, f)) && !f.startsWith('prisma/generated/'));

const folderOf = (rel) => {
  const parts = rel.split('/');
  if (parts.length > 1) return parts[0];
  return path.extname(parts[0]) === '' ? parts[0] : null; // '../catalog' names the folder itself
};

const edges = new Map();
for (const file of files) {
  const from = folderOf(file);
  if (!from || TOOLING.has(from)) continue;
  for (const [, spec] of fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(IMPORT)) {
    const to = folderOf(path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)));
    if (!to || to === from) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from).add(to);
  }
}

for (const [from, tos] of [...edges].sort())
  console.log(`${from.padEnd(12)} -> ${[...tos].sort().join(', ')}`);

// Tarjan's strongly connected components: each component of more than one folder is a cycle.
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
let next = 0;
const visit = (v) => {
  index.set(v, next);
  low.set(v, next++);
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component.sort());
  }
};
for (const v of edges.keys()) if (!index.has(v)) visit(v);
for (const cycle of cycles) console.log(`cycle: ${cycle.join(' <-> ')}`);
console.log(`folder cycles: ${cycles.length}`);
process.exitCode = cycles.length === 0 ? 0 : 1;
