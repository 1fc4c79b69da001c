// A zero-install PostgreSQL for a first run: PGlite (PostgreSQL 18 compiled to WASM) served on a TCP
// port by pglite-socket, so Prisma, `prisma migrate deploy` and psql reach it like any server.
//
// Limits, all from PGlite being a single in-process backend:
// - One connection at a time. A second concurrent one is dropped (pg: "Connection terminated
//   unexpectedly"; pglite-socket could queue several, but they would share one session), so
//   the app must use createPrismaClient(url, { maxConnections: 1 }) (the returned URL also carries
//   connection_limit=1, which platform/db and the migration adapter honour), and must run migrateDatabase
//   before it opens its client, or disconnect it first.
// - It always serves the database `postgres`, whatever name a client asks for. So `prisma migrate dev`,
//   which needs a scratch "shadow" database, must be given a second instance via SHADOW_DATABASE_URL
//   (see prisma/migration-adapter.ts); deploy and status need nothing more.
// - Queries run on this process's event loop: fine for a demo or a first run, not for load. Tests and
//   benchmarks belong on a real PostgreSQL.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { mkdir } from 'node:fs/promises';

export interface EmbeddedPostgresOptions {
  // Where the database files live; reused across restarts. Created if missing.
  dataDir: string;
  // 0 picks a free port (see the returned url).
  port: number;
  host?: string;
}

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const host = options.host ?? '127.0.0.1';
  // PGlite creates the directory itself but not its parents (e.g. a fresh ./data/pglite).
  await mkdir(options.dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir: options.dataDir });
  const server = new PGLiteSocketServer({ db, host, port: options.port, maxConnections: 1 });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  // Read back rather than trusting options.port, which may be 0.
  const port = Number(server.getServerConn().split(':').pop());
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `postgresql://postgres@${urlHost}:${port}/postgres?connection_limit=1`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
