// Manage API keys: `npm run api-keys -- <command>`.
//   create --tenant <id> [--name <name>] [--scopes <s,…>]
//                                            a key for one tenant (the tenant is created if new); scopes from
//                                            domain/api-key-scopes.ts, or `all`; default: read and write
//                                            connections and webhooks (no token access, no proxy)
//   create --admin [--name <name>]           an operator key acting across tenants (every scope)
//   revoke <prefix>                          e.g. revoke 3f2a9c01b7de
//   list
// Uses DATABASE_URL. The key is printed once; only its hash is stored. stdout carries the answer alone
// (the key, so `KEY=$(npm run -s api-keys -- create --tenant acme)` captures it); everything else goes
// to stderr.
import { parseArgs } from 'node:util';
import { API_KEY_SCOPES } from '../domain/api-key-scopes';
import { createApiKey, listApiKeys, revokeApiKey } from '../platform/api-keys';
import { createPrismaClient } from '../platform/db';

/** Run by `npm run` without -s, into a pipe: npm wrote its two-line banner to the same stdout. */
function npmBannerOnStdout(): boolean {
  const env = process.env;
  return (
    env.npm_lifecycle_event === 'api-keys' && env.npm_config_loglevel !== 'silent' && !process.stdout.isTTY
  );
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      admin: { type: 'boolean' },
      name: { type: 'string' },
      scopes: { type: 'string' },
    },
  });
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  const db = createPrismaClient(url);
  try {
    const [command, arg] = positionals;
    if (command === 'create') {
      if (!values.admin && !values.tenant) throw new Error('create needs --tenant <id> or --admin');
      if (values.admin && values.scopes) throw new Error('an admin key holds every scope: drop --scopes');
      const scopes =
        values.scopes === 'all'
          ? API_KEY_SCOPES
          : values.scopes
              ?.split(',')
              .map((s) => s.trim())
              .filter(Boolean);
      const created = await createApiKey(db, {
        name: values.name ?? (values.admin ? 'admin' : `${values.tenant} key`),
        role: values.admin ? 'admin' : 'tenant',
        tenantId: values.admin ? undefined : values.tenant,
        scopes,
      });
      console.log(created.key);
      console.error(
        `created ${values.admin ? 'admin' : `tenant ${values.tenant}`} key ${created.prefix}; store it now, it is not shown again`,
      );
      console.error(`scopes: ${created.scopes.join(', ')}`);
      if (npmBannerOnStdout()) {
        console.error(
          'note: npm printed its own "> tether api-keys" lines on stdout before the key; ' +
            'to capture the key alone, run `npm run -s api-keys -- create ...` (-s: npm prints nothing itself)',
        );
      }
    } else if (command === 'revoke' && arg) {
      const revoked = await revokeApiKey(db, arg);
      console.log(revoked ? `revoked ${arg}` : `no active key ${arg}`);
      if (!revoked) process.exitCode = 1;
    } else if (command === 'list') {
      console.table(await listApiKeys(db));
    } else {
      throw new Error(
        'usage: api-keys create --tenant <id> [--scopes <s,…>|all] | create --admin | revoke <prefix> | list',
      );
    }
  } finally {
    await db.$disconnect();
  }
}

main().catch((err) => {
  console.error((err as Error).message);
  process.exit(1);
});
