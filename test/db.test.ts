import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ConnectionStatus, createPrismaClient, SecretKind, type Db } from '../platform/db';
import { migrateDatabase } from '../dev/migrate';
import { createTestDatabase, type TestDatabase } from './support/database';

function newConnection(tenantId = 'tenant-1') {
  return {
    id: randomUUID(),
    tenantId,
    vendor: 'promapp',
    instanceUrl: 'https://example.promapp.com',
    name: 'db test',
  };
}

describe('database on PostgreSQL', () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    const started = Date.now();
    database = await createTestDatabase();
    console.info(`createTestDatabase (create + migrate deploy) took ${Date.now() - started} ms`);
    db = createPrismaClient(database.url);
  });

  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  it('round-trips a connection, a sealed secret and an audit event', async () => {
    const connection = await db.connection.create({ data: newConnection() });
    expect(connection.status).toBe(ConnectionStatus.linking);
    expect(connection.grantedScopes).toEqual([]);

    const sealed = randomBytes(64);
    await db.connectionSecret.create({
      data: { connectionId: connection.id, kind: SecretKind.credentials, keyId: 'key-1', sealed },
    });
    const secret = await db.connectionSecret.findUniqueOrThrow({
      where: { connectionId_kind: { connectionId: connection.id, kind: SecretKind.credentials } },
    });
    expect(Buffer.from(secret.sealed).equals(sealed)).toBe(true);

    const event = await db.auditEvent.create({
      data: {
        connectionId: connection.id,
        tenantId: connection.tenantId,
        type: 'status_changed',
        fromStatus: ConnectionStatus.linking,
        toStatus: ConnectionStatus.active,
        detail: { reason: 'verified' },
        actor: 'test',
        dedupeKey: `${connection.id}:1`,
      },
    });
    expect(typeof event.id).toBe('bigint');

    const loaded = await db.connection.findUniqueOrThrow({
      where: { id: connection.id },
      include: { secrets: true, auditEvents: true },
    });
    expect(loaded.secrets).toHaveLength(1);
    expect(loaded.auditEvents.map((e) => e.detail)).toEqual([{ reason: 'verified' }]);
  });

  describe('audit events are append-only', () => {
    let connectionId: string;
    let eventId: bigint;

    beforeAll(async () => {
      const connection = await db.connection.create({ data: newConnection() });
      connectionId = connection.id;
      const event = await db.auditEvent.create({
        data: { connectionId, tenantId: connection.tenantId, type: 'linked', actor: 'test' },
      });
      eventId = event.id;
    });

    it('refuses UPDATE', async () => {
      await expect(
        db.auditEvent.update({ where: { id: eventId }, data: { actor: 'tamperer' } }),
      ).rejects.toThrow(/AuditEvent is append-only: UPDATE is not allowed/);
      await expect(
        db.$executeRaw`UPDATE "AuditEvent" SET "type" = 'x' WHERE "id" = ${eventId}`,
      ).rejects.toThrow(/append-only/);
      expect((await db.auditEvent.findUniqueOrThrow({ where: { id: eventId } })).actor).toBe('test');
    });

    it('refuses DELETE and TRUNCATE', async () => {
      await expect(db.auditEvent.delete({ where: { id: eventId } })).rejects.toThrow(
        /AuditEvent is append-only: DELETE is not allowed/,
      );
      await expect(db.auditEvent.deleteMany({ where: { connectionId } })).rejects.toThrow(/append-only/);
      await expect(db.$executeRawUnsafe('TRUNCATE "AuditEvent"')).rejects.toThrow(/append-only/);
      expect(await db.auditEvent.count({ where: { connectionId } })).toBe(1);
    });

    it('keeps the connection from being deleted while it has audit events', async () => {
      await expect(db.connection.delete({ where: { id: connectionId } })).rejects.toThrow();
      expect(await db.connection.count({ where: { id: connectionId } })).toBe(1);
    });
  });
});

// PGlite loads its WASM and node builtins with dynamic import(), which jest's module sandbox refuses
// without --experimental-vm-modules. So the server runs in a process of its own, as it would beside the
// app; the test drives it from outside like any other PostgreSQL.
const EMBEDDED_SERVER_SCRIPT = `
  const { startEmbeddedPostgres } = require('./dev/embedded-postgres');
  startEmbeddedPostgres({ dataDir: process.env.PGLITE_DATA_DIR, port: 0 }).then((embedded) => {
    console.log(embedded.url);
    // Stops when the test closes stdin (or dies); the process must then exit on its own.
    process.stdin.on('end', () => embedded.stop());
    process.stdin.resume();
  });
`;

interface EmbeddedServerProcess {
  url: string;
  stop(): Promise<void>;
}

async function startEmbeddedServerProcess(dataDir: string): Promise<EmbeddedServerProcess> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', EMBEDDED_SERVER_SCRIPT], {
    cwd: path.resolve(__dirname, '..'),
    env: { ...process.env, PGLITE_DATA_DIR: dataDir },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const firstLine = once(createInterface({ input: child.stdout }), 'line') as Promise<[string]>;
  const [url] = await Promise.race([
    firstLine,
    exited.then(([code]) => Promise.reject(new Error(`embedded PostgreSQL exited with code ${code}`))),
  ]);
  return {
    url,
    async stop() {
      child.stdin.end();
      const [code] = await exited;
      expect(code).toBe(0);
    },
  };
}

describe('embedded PGlite database', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tether-pglite-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('migrates with prisma migrate deploy, serves Prisma queries and keeps data across restarts', async () => {
    let started = Date.now();
    const embedded = await startEmbeddedServerProcess(dataDir);
    console.info(`PGlite start took ${Date.now() - started} ms`);
    expect(embedded.url).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres\?connection_limit=1$/);
    const connection = newConnection('tenant-pglite');
    try {
      started = Date.now();
      // First client: the prisma CLI in a child process. It must be done before the app connects.
      await migrateDatabase(embedded.url);
      console.info(`migrate deploy on PGlite took ${Date.now() - started} ms`);

      // Second client: the app's, limited to the one connection PGlite serves.
      const db = createPrismaClient(embedded.url, { maxConnections: 1 });
      try {
        await db.connection.create({ data: connection });
        await db.auditEvent.create({
          data: { connectionId: connection.id, tenantId: connection.tenantId, type: 'linked', actor: 'test' },
        });
        await expect(
          db.auditEvent.updateMany({ where: { connectionId: connection.id }, data: { actor: 'x' } }),
        ).rejects.toThrow(/append-only/);
      } finally {
        await db.$disconnect();
      }
    } finally {
      await embedded.stop();
    }

    const restarted = await startEmbeddedServerProcess(dataDir);
    try {
      const db = createPrismaClient(restarted.url, { maxConnections: 1 });
      try {
        const reloaded = await db.connection.findUniqueOrThrow({ where: { id: connection.id } });
        expect(reloaded.tenantId).toBe('tenant-pglite');
      } finally {
        await db.$disconnect();
      }
    } finally {
      await restarted.stop();
    }
  });
});
