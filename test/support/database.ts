// A fresh, fully migrated database per test suite on the local PostgreSQL, so suites can run in
// parallel and never see each other's rows.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrateDatabase } from '../../dev/migrate';

const DEFAULT_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** One statement (or several, `;`-separated) on its own connection. */
export async function runStatement(databaseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? DEFAULT_ADMIN_URL;
  // Lowercase letters and digits only, so the name needs no quoting beyond the double quotes below.
  const name = `tether_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;

  await runStatement(adminUrl, `CREATE DATABASE "${name}"`);
  // FORCE closes whatever connections a test left open (a client not disconnected, a crashed pool).
  const drop = () => runStatement(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  try {
    await migrateDatabase(url.toString());
  } catch (error) {
    await drop();
    throw error;
  }
  return { url: url.toString(), drop };
}
