// Lint rule `data-access/through-tenant-data`: the API reads and writes PostgreSQL only through
// api/tenant-data/, where every read is scoped to the caller's tenant. Elsewhere in api/ a file may name the
// row types (`import type`) and hand the database on (app.ts builds tenant-data from it), but neither
// import the Prisma client's values nor call it (`db.…`, `deps.db.…`, `prisma.…`).
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DATA_MODULE = 'api/tenant-data/';
/** Modules whose values are the Prisma client (or its query builders). */
const CLIENT_MODULES = ['platform/db', 'prisma/generated'];
/** Values of platform/db that are not the client: reading an error's kind is not a query. */
const NOT_THE_CLIENT = ['isDatabaseUnavailable'];
const CLIENT_NAMES = ['db', 'prisma'];

const rel = (file) => path.relative(ROOT, file).split(path.sep).join('/');

const rule = {
  meta: {
    type: 'problem',
    docs: {
      description: 'api/ reaches the database only through api/tenant-data (see tools/lint/data-access.mjs)',
    },
    schema: [
      {
        type: 'object',
        properties: { allow: { type: 'array', items: { type: 'string' } } },
        additionalProperties: false,
      },
    ],
  },
  create(context) {
    const file = rel(context.filename);
    const allow = context.options[0]?.allow ?? [];
    if (!file.startsWith('api/') || file.startsWith(DATA_MODULE) || allow.includes(file)) return {};
    const report = (node, what) =>
      context.report({
        node,
        message: `${what}: api/ reads and writes the database through api/tenant-data/`,
      });
    return {
      ImportDeclaration(node) {
        if (node.importKind === 'type' || typeof node.source.value !== 'string') return;
        const target = rel(path.resolve(path.dirname(context.filename), node.source.value));
        if (!CLIENT_MODULES.some((m) => target === m || target.startsWith(`${m}/`))) return;
        for (const s of node.specifiers) {
          if (s.importKind === 'type') continue;
          const name = s.type === 'ImportSpecifier' ? (s.imported.name ?? s.imported.value) : '*';
          if (!NOT_THE_CLIENT.includes(name))
            report(s, `imports ${name} of the Prisma client ('${node.source.value}')`);
        }
      },
      MemberExpression(node) {
        const object = node.object;
        const name =
          object.type === 'Identifier'
            ? object.name
            : object.type === 'MemberExpression' && !object.computed && object.property.type === 'Identifier'
              ? object.property.name
              : null;
        // `deps.db` handed on is fine; `deps.db.connection…` or `db.$queryRaw` is a query.
        if (name && CLIENT_NAMES.includes(name)) report(node, `uses the Prisma client (${name}.…)`);
      },
    };
  },
};

export default { rules: { 'through-tenant-data': rule } };
