// Prisma CLI configuration. Prisma's native schema engine cannot be downloaded here, so migrations
// run on the WASM schema engine bundled with the CLI, through the adapter in prisma/migration-adapter.ts.
// A config file also turns off Prisma's .env loading: DATABASE_URL must come from the environment.
import { defineConfig } from 'prisma/config';
import { createMigrationAdapter, unrefSchemaEngineTimers } from './prisma/migration-adapter';

const databaseUrl = process.env.DATABASE_URL;
// Prisma 6.19 resolves the schema's env("DATABASE_URL") even for `generate`, which never connects, and
// when that fails it falls back to downloading a native engine (a misleading network error here).
// A placeholder keeps generate working without a database; commands that connect still refuse below.
process.env.DATABASE_URL ??= 'postgresql://database-url-not-set@localhost/unset';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  experimental: { adapter: true },
  engine: 'js',
  adapter: async () => {
    if (!databaseUrl) throw new Error('DATABASE_URL is not set: it must point at the database to migrate');
    unrefSchemaEngineTimers();
    return createMigrationAdapter(databaseUrl);
  },
});
