// Generates the Prisma client (prisma/generated, gitignored) when it is missing or out of date, so every
// npm script works straight after `npm ci` on a fresh clone: npm may skip install scripts, and nothing
// else generates it. Up to date means: generated from this very schema by this very Prisma version,
// recorded in a stamp file next to the client; then this takes only Node's start-up time.
//
// Plain Node (no tsx, no dependencies) because it runs before every entry point. It writes only to
// stderr: scripts such as `npm run -s api-keys -- create` keep their stdout for their answer.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const schemaFile = path.join(root, 'prisma', 'schema.prisma');
const generatedDir = path.join(root, 'prisma', 'generated');
const clientFile = path.join(generatedDir, 'client.ts');
const stampFile = path.join(generatedDir, '.schema-hash');
const lockDir = path.join(root, 'prisma', '.generate.lock');
const prismaCli = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');
// A lock older than this was left by a killed run (a generate takes about a second).
const STALE_LOCK_MS = 120_000;

const say = (line) => process.stderr.write(`[prisma-client] ${line}\n`);

function fail(message, ...hints) {
  say(`FAILED: ${message}`);
  for (const hint of hints) say(`  ${hint}`);
  process.exit(1);
}

function versionOf(pkg) {
  try {
    return JSON.parse(readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return 'missing';
  }
}

/** What the generated client depends on: the schema and the generator's and runtime's versions. */
function wantedHash() {
  return createHash('sha256')
    .update(readFileSync(schemaFile))
    .update(`\0prisma ${versionOf('prisma')}\0@prisma/client ${versionOf('@prisma/client')}`)
    .digest('hex');
}

function upToDate(hash) {
  return existsSync(clientFile) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === hash;
}

function generate(hash) {
  const started = Date.now();
  say('generating the Prisma client into prisma/generated (first run, or the schema or Prisma changed)');
  rmSync(stampFile, { force: true });
  const result = spawnSync(process.execPath, [prismaCli, 'generate'], {
    cwd: root,
    // No update check or telemetry calls to Prisma's servers (unreachable on offline machines).
    env: { ...process.env, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1', NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (result.status !== 0 || !existsSync(clientFile)) {
    process.stderr.write(
      `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? `${result.error}\n` : ''}`,
    );
    fail('prisma generate failed (output above)', 'run `npm run db:generate` to retry it alone');
  }
  writeFileSync(stampFile, `${hash}\n`);
  say(`generated in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

/** Takes the lock; false when another process holds it (it is generating right now). */
function tryLock() {
  try {
    mkdirSync(lockDir);
    return true;
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
    try {
      if (Date.now() - statSync(lockDir).mtimeMs > STALE_LOCK_MS)
        rmSync(lockDir, { recursive: true, force: true });
    } catch {
      // released meanwhile
    }
    return false;
  }
}

if (!existsSync(prismaCli)) fail('node_modules/prisma is missing', 'run `npm ci` first');
const hash = wantedHash();
if (!upToDate(hash)) {
  // Two entry points started together on a fresh clone (say, the worker and the API) generate once.
  const waitUntil = Date.now() + STALE_LOCK_MS + 10_000;
  while (!tryLock()) {
    if (Date.now() > waitUntil)
      fail(`could not take ${path.relative(root, lockDir)}`, 'remove it if no generate runs');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
  try {
    if (!upToDate(hash)) generate(hash);
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}
