// Applies pending migrations with the standard `prisma migrate deploy`, run as a child process so the
// CLI's own migration engine and config (prisma.config.ts) do the work, exactly as `npm run db:migrate`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

// Five minutes: far above a normal run (~3 s on PostgreSQL, ~4 s on PGlite), but bounded so a
// stuck advisory lock or unreachable database fails instead of hanging a deploy.
const MIGRATE_TIMEOUT_MS = 5 * 60_000;

// The directory holding prisma.config.ts: dev/.. from source, dist/dev/../.. when compiled.
function findRepoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'prisma.config.ts'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`prisma.config.ts not found above ${__dirname}`);
  }
}

// Asynchronous on purpose: with the embedded PGlite server, the database runs in this very process and
// must keep serving while the CLI migrates it.
export function migrateDatabase(databaseUrl: string): Promise<void> {
  const repoRoot = findRepoRoot();
  // The CLI's entry point, run with this same node rather than through the node_modules/.bin shim.
  const prismaCli = path.join(repoRoot, 'node_modules', 'prisma', 'build', 'index.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCli, 'migrate', 'deploy'], {
      cwd: repoRoot,
      // CHECKPOINT_DISABLE: no update-check request to Prisma's servers, which are unreachable here.
      env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: MIGRATE_TIMEOUT_MS,
    });
    const output: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const outcome = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(
        new Error(`prisma migrate deploy ${outcome}:\n${Buffer.concat(output).toString('utf8').trim()}`),
      );
    });
  });
}
