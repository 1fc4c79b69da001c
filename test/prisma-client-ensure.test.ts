// scripts/ensure-prisma-client.mjs, which every npm entry point runs first so a fresh clone works after
// `npm ci` alone: it generates the client when it is missing or its schema changed, and otherwise does
// nothing (no output, files untouched). Run on a copy of the project's Prisma files, so this checkout's
// client is never touched. (CI's quick-start check runs the real thing on a clean clone.)
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const REPO = path.resolve(__dirname, '..');
let copy: string;

beforeAll(() => {
  copy = mkdtempSync(path.join(tmpdir(), 'tether-prisma-ensure-'));
  for (const file of [
    'scripts/ensure-prisma-client.mjs',
    'prisma/schema.prisma',
    'prisma/migration-adapter.ts',
    'prisma.config.ts',
  ]) {
    mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
    copyFileSync(path.join(REPO, file), path.join(copy, file));
  }
  symlinkSync(path.join(REPO, 'node_modules'), path.join(copy, 'node_modules'));
});

afterAll(() => rmSync(copy, { recursive: true, force: true }));

function ensure() {
  const result = spawnSync(process.execPath, [path.join(copy, 'scripts', 'ensure-prisma-client.mjs')], {
    cwd: copy,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const client = () => path.join(copy, 'prisma', 'generated', 'client.ts');

test('generates a missing client, then leaves an up-to-date one alone, and regenerates on a schema change', () => {
  expect(existsSync(client())).toBe(false);
  const first = ensure();
  expect(first).toMatchObject({ code: 0, stdout: '' });
  expect(first.stderr).toMatch(/generating the Prisma client/);
  expect(existsSync(client())).toBe(true);
  const generatedAt = statSync(client()).mtimeMs;

  // Up to date: silent, nothing rewritten.
  expect(ensure()).toEqual({ code: 0, stdout: '', stderr: '' });
  expect(statSync(client()).mtimeMs).toBe(generatedAt);

  // Any change to the schema (here a comment) makes it generate again.
  appendFileSync(path.join(copy, 'prisma', 'schema.prisma'), '\n// changed\n');
  const changed = ensure();
  expect(changed).toMatchObject({ code: 0, stdout: '' });
  expect(changed.stderr).toMatch(/generating the Prisma client/);

  // So does a client deleted by hand.
  rmSync(path.join(copy, 'prisma', 'generated'), { recursive: true, force: true });
  expect(ensure().stderr).toMatch(/generating the Prisma client/);
  expect(existsSync(client())).toBe(true);
});
