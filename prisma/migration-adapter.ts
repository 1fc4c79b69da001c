// Driver adapter for the Prisma CLI's WASM schema engine (prisma.config.ts, `engine: 'js'`).
// Prisma's binary host is unreachable here, so migrate/status/diff must run on the WASM engine the
// CLI ships, which talks to PostgreSQL through @prisma/adapter-pg. That path has defects in 6.19.3;
// each workaround below names the defect it exists for (see also /work/shared/prisma-notes.md).
// Only the CLI loads this module: the app's own client is built in platform/db.ts.
import { PrismaPg } from '@prisma/adapter-pg';
import {
  ColumnTypeEnum,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
  type SqlResultSet,
  type Transaction,
} from '@prisma/driver-adapter-utils';
import { randomUUID } from 'node:crypto';
import pg from 'pg';

const PG_CHAR_OID = 18; // the one-byte catalog type "char" (pg_class.relkind, pg_constraint.contype...)
const PG_NAME_OID = 19; // catalog identifiers (pg_class.relname...)
const PG_TEXT_OID = 25;
const CATALOG_STRING_OIDS = new Set([PG_CHAR_OID, PG_NAME_OID]);

// Defect 1 (prisma/orm#27403): adapter-pg throws "Unsupported column type" for "char" and name, which
// the schema engine's catalog queries return. This client relabels those columns as text before the
// adapter sees them (both are plain strings on the wire), and remembers where the "char" columns were
// so markCharColumns() can report them as Character: the engine panics if a "char" column comes back
// as Text (seen on PostgreSQL 18 catalogs, i.e. PGlite). Keyed by the rows array because adapter-pg
// passes that same array through to its result set.
const charColumnsByRows = new WeakMap<unknown[], number[]>();

function relabelCatalogTypes(result: pg.QueryResult | pg.QueryResult[]): void {
  for (const statement of Array.isArray(result) ? result : [result]) {
    const charColumns: number[] = [];
    statement.fields?.forEach((field, index) => {
      if (field.dataTypeID === PG_CHAR_OID) charColumns.push(index);
      if (CATALOG_STRING_OIDS.has(field.dataTypeID)) field.dataTypeID = PG_TEXT_OID;
    });
    if (charColumns.length > 0) charColumnsByRows.set(statement.rows, charColumns);
  }
}

class CatalogTypesClient extends pg.Client {
  // pg.Client.query has many overloads; both the callback form (used by pg.Pool) and the promise form
  // (used by adapter-pg transactions) must be relabelled, submittables (cursors) pass through.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const last: unknown = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (error: Error | null, result: pg.QueryResult | pg.QueryResult[]) => {
        if (!error && result) relabelCatalogTypes(result);
        last(error, result);
      };
    }
    const returned: unknown = (super.query as (...queryArgs: unknown[]) => unknown)(...args);
    if (returned instanceof Promise) {
      return returned.then((result: pg.QueryResult | pg.QueryResult[]) => {
        relabelCatalogTypes(result);
        return result;
      });
    }
    return returned;
  }
}

function markCharColumns(resultSet: SqlResultSet): SqlResultSet {
  for (const index of charColumnsByRows.get(resultSet.rows) ?? []) {
    resultSet.columnTypes[index] = ColumnTypeEnum.Character;
  }
  return resultSet;
}

function withCharColumns(transaction: Transaction): Transaction {
  return {
    provider: transaction.provider,
    adapterName: transaction.adapterName,
    options: transaction.options,
    queryRaw: async (query: SqlQuery) => markCharColumns(await transaction.queryRaw(query)),
    executeRaw: (query: SqlQuery) => transaction.executeRaw(query),
    commit: () => transaction.commit(),
    rollback: () => transaction.rollback(),
  };
}

function connectAdapter(databaseUrl: string): Promise<SqlDriverAdapter> {
  const params = new URL(databaseUrl).searchParams;
  const schema = params.get('schema') ?? undefined;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    // Prisma's URL parameter; the embedded PGlite server's URL sets it to 1 (one connection at a time).
    max: Number(params.get('connection_limit')) || undefined,
    Client: CatalogTypesClient,
    // Defect 3: the CLI never disposes its adapters, so an open pool would keep the process alive.
    allowExitOnIdle: true,
  });
  const factory = new PrismaPg(pool, { schema, disposeExternalPool: true });
  return factory.connect().then((adapter) => ({
    provider: adapter.provider,
    adapterName: adapter.adapterName,
    queryRaw: async (query: SqlQuery) => markCharColumns(await adapter.queryRaw(query)),
    executeRaw: (query: SqlQuery) => adapter.executeRaw(query),
    // Defect 5: adapter-pg's executeScript splits the script on every ';', which cuts apart function
    // bodies such as the audit trigger's ($$ ... ; ... $$). Sending the script as one simple-protocol
    // query (pg uses it when there are no parameters) runs it like the native engine does.
    executeScript: async (script: string) => {
      await adapter.executeRaw({ sql: script, args: [], argTypes: [] });
    },
    startTransaction: async (isolationLevel) =>
      withCharColumns(await adapter.startTransaction(isolationLevel)),
    getConnectionInfo: () => adapter.getConnectionInfo(),
    dispose: () => adapter.dispose(),
  }));
}

function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

async function runAdminStatement(databaseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

// Defect 2: adapter-pg's connectToShadowDb() spreads `{ ...config, database }`, but with a
// connectionString the URL's database wins, so its "shadow" is the main database and migrate dev fails
// with P3006. Here the shadow is a database we create, address by URL, and drop (force) on dispose.
// SHADOW_DATABASE_URL, when set, names an existing database to use instead (e.g. a second PGlite, which
// serves one database only). Like Prisma's shadowDatabaseUrl, its schema is WIPED on every use: the
// engine replays all migrations into it, several times per command.
async function connectShadowAdapter(databaseUrl: string): Promise<SqlDriverAdapter> {
  const externalShadowUrl = process.env.SHADOW_DATABASE_URL;
  if (externalShadowUrl) {
    const schema = new URL(externalShadowUrl).searchParams.get('schema') ?? 'public';
    await runAdminStatement(
      externalShadowUrl,
      `DROP SCHEMA IF EXISTS "${schema}" CASCADE; CREATE SCHEMA "${schema}"`,
    );
    return connectAdapter(externalShadowUrl);
  }

  const shadowDatabase = `prisma_migrate_shadow_db_${randomUUID().replaceAll('-', '')}`;
  await runAdminStatement(databaseUrl, `CREATE DATABASE "${shadowDatabase}"`);
  const shadow = await connectAdapter(withDatabase(databaseUrl, shadowDatabase));
  return {
    ...shadow,
    dispose: async () => {
      await shadow.dispose();
      await runAdminStatement(databaseUrl, `DROP DATABASE IF EXISTS "${shadowDatabase}" WITH (FORCE)`);
    },
  };
}

// Defect 4: the WASM engine races database calls against JS timers (measured: 10 s on the migration
// advisory lock, taken by deploy and dev) and never clears them, because its bindings import setTimeout
// but not clearTimeout. Each command then lingers until its last timer fires. Unref'ing the timers the engine
// creates (recognised by the wasm frames on the stack) lets the CLI exit as soon as its work is done.
// Safe because those timers only bound real I/O: while a query is in flight, its checked-out pg client
// keeps the process alive. Patches the global setTimeout, so only the CLI's config should call this.
let engineTimersUnrefed = false;

export function unrefSchemaEngineTimers(): void {
  if (engineTimersUnrefed) return;
  engineTimersUnrefed = true;
  const originalSetTimeout = globalThis.setTimeout;
  const setTimeoutUnrefingEngineTimers = (...args: Parameters<typeof setTimeout>) => {
    const timer = originalSetTimeout(...args);
    if (new Error().stack?.includes('wasm://')) timer.unref();
    return timer;
  };
  // Keeps setTimeout's extra properties (util.promisify.custom) working.
  Object.defineProperties(
    setTimeoutUnrefingEngineTimers,
    Object.getOwnPropertyDescriptors(originalSetTimeout),
  );
  globalThis.setTimeout = setTimeoutUnrefingEngineTimers as typeof setTimeout;
}

export function createMigrationAdapter(databaseUrl: string): SqlMigrationAwareDriverAdapterFactory {
  return {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: () => connectAdapter(databaseUrl),
    connectToShadowDb: () => connectShadowAdapter(databaseUrl),
  };
}
