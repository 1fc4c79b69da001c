// Lint rule `layers/downward-only`: a top-level folder imports only the folders below it, so every arrow
// between folders runs one way. The table is the architecture; the README's "Architecture" section lists
// the same layers. Tooling (tests, bench, simulators, scripts) stands beside the product and may use it,
// but nothing in the product imports tooling.
import path from 'node:path';

/** Folder → the folders it may import (besides itself). Type-only imports count like any other ... */
export const LAYERS = {
  domain: [],
  'vendor-kit': ['domain'],
  catalog: ['vendor-kit', 'domain'],
  platform: ['vendor-kit', 'domain', 'prisma'],
  activities: ['catalog', 'platform', 'vendor-kit', 'domain'],
  workflows: ['domain'],
  api: ['workflows', 'catalog', 'platform', 'vendor-kit', 'domain'],
  worker: ['workflows', 'activities', 'platform', 'vendor-kit', 'domain'],
  main: ['api', 'worker', 'workflows', 'activities', 'catalog', 'platform', 'vendor-kit', 'domain'],
  dev: [
    'main',
    'api',
    'worker',
    'workflows',
    'activities',
    'catalog',
    'platform',
    'vendor-kit',
    'domain',
    'prisma',
    'simulators',
  ],
  // Simulators stand in for the vendors: they know only the vendors' documented APIs, nothing of tether.
  simulators: [],
};

/** ... except these, allowed only as `import type`: a workflow names its activities' types, never their code. */
const TYPE_ONLY = { workflows: ['activities'] };

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The top-level folder of a file or of an import (`'../catalog'` names the folder itself), null at the root. */
function topFolder(file) {
  const rel = path.relative(ROOT, file).split(path.sep);
  if (rel.length > 1) return rel[0];
  return path.extname(rel[0]) === '' ? rel[0] : null;
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports between top-level folders run downward only (see tools/lint/layers.mjs)' },
    schema: [],
  },
  create(context) {
    const from = topFolder(context.filename);
    const allowed = from && LAYERS[from];
    if (!allowed) return {};
    const check = (node, source, typeOnly) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const to = topFolder(path.resolve(path.dirname(context.filename), source));
      if (to === from) return;
      if (to && (allowed.includes(to) || (typeOnly && TYPE_ONLY[from]?.includes(to)))) return;
      const may = [...allowed, ...(TYPE_ONLY[from] ?? []).map((f) => `${f} (types only)`)];
      context.report({
        node,
        message: `${from}/ may not import ${to ?? 'the repository root'}/ ('${source}'): it may import ${may.join(', ') || 'nothing outside itself'}`,
      });
    };
    const allTypes = (node) =>
      node.importKind === 'type' ||
      (node.specifiers?.length > 0 &&
        node.specifiers.every((s) => s.importKind === 'type' || s.exportKind === 'type'));
    return {
      ImportDeclaration: (node) => check(node, node.source.value, allTypes(node)),
      ExportNamedDeclaration: (node) =>
        node.source && check(node, node.source.value, node.exportKind === 'type' || allTypes(node)),
      ExportAllDeclaration: (node) => check(node, node.source.value, node.exportKind === 'type'),
      ImportExpression: (node) => check(node, node.source.value, false),
      CallExpression: (node) => {
        if (
          node.callee.type === 'Identifier' &&
          node.callee.name === 'require' &&
          node.arguments[0]?.type === 'Literal'
        ) {
          check(node, node.arguments[0].value, false);
        }
      },
    };
  },
};

export default { rules: { 'downward-only': rule } };
