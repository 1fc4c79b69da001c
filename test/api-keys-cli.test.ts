// `npm run api-keys`: the key it creates is the only thing on stdout, so `KEY=$(npm run -s api-keys --
// create ...)` captures exactly the key; everything said around it goes to stderr. Without -s npm puts
// its own banner on stdout first, and the script says how to avoid it.
import path from 'node:path';
import { verifyApiKey } from '../platform/api-keys';
import { createPrismaClient, type Db } from '../platform/db';
import { runCommand } from './support/child-process';
import { createTestDatabase, type TestDatabase } from './support/database';

const REPO = path.resolve(__dirname, '..');
const KEY_LINE = /^tk_[a-f0-9]{12}_[A-Za-z0-9_-]{43}\n$/;

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPrismaClient(database.url);
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

async function run(command: string, args: string[]) {
  // Not the loglevel of an npm that runs these tests (`npm run -s test` would silence the banner).
  const { npm_config_loglevel: _, ...env } = process.env;
  const child = runCommand(command, args, { cwd: REPO, env: { ...env, DATABASE_URL: database.url } });
  const exit = await child.exitWithin(60_000);
  return { exit, stdout: child.stdout(), stderr: child.stderr() };
}

test('create prints the key alone on stdout and the rest on stderr', async () => {
  const tenant = await run(process.execPath, [
    '--import',
    'tsx',
    'scripts/api-keys.ts',
    'create',
    '--tenant',
    'acme',
  ]);
  expect(tenant.exit).toEqual({ code: 0, signal: null });
  expect(tenant.stdout).toMatch(KEY_LINE);
  expect(tenant.stderr).toMatch(/created tenant acme key [a-f0-9]{12}; store it now/);
  expect(await verifyApiKey(db, tenant.stdout.trim())).toMatchObject({ tenantId: 'acme', role: 'tenant' });

  // The way the README captures it.
  const admin = await run('npm', ['run', '-s', 'api-keys', '--', 'create', '--admin']);
  expect(admin.exit).toEqual({ code: 0, signal: null });
  expect(admin.stdout).toMatch(KEY_LINE);
  expect(admin.stderr).not.toMatch(/note:/);
  expect(await verifyApiKey(db, admin.stdout.trim())).toMatchObject({ tenantId: null, role: 'admin' });
});

test('run without -s into a pipe, it says that npm added its banner and how to capture the key alone', async () => {
  const result = await run('npm', ['run', 'api-keys', '--', 'create', '--tenant', 'acme']);
  expect(result.exit).toEqual({ code: 0, signal: null });
  const lines = result.stdout.trimEnd().split('\n');
  // npm's "> tether@0.1.0 api-keys" lines, then the key.
  expect(lines.slice(0, -1).every((line) => line === '' || line.startsWith('> '))).toBe(true);
  expect(`${lines.at(-1)}\n`).toMatch(KEY_LINE);
  expect(result.stderr).toMatch(
    /npm printed its own "> tether api-keys" lines on stdout.*npm run -s api-keys/,
  );
});
