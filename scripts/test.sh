#!/usr/bin/env bash
# `npm test`: the whole test suite from a fresh clone after `npm ci`. Extra arguments go to jest,
# e.g. `npm test -- test/invgate.test.ts` or `npm test -- -t 'missing scope'`.
#
# Steps, cheapest first; each stops the run on failure: Prisma client generation, a PostgreSQL check,
# typecheck, lint, the Temporal CLI (built once from the Go module proxy, then cached), jest.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# No update checks or telemetry calls to Prisma's servers (unreachable on offline machines).
export CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1

START=$SECONDS
step() { printf '\n[test] %s\n' "$*" >&2; }
fail() {
  printf '\n[test] FAILED: %s\n' "$1" >&2
  shift
  local line
  for line in "$@"; do printf '[test]   %s\n' "$line" >&2; done
  exit 1
}

[[ -d node_modules ]] || fail "node_modules is missing" "run \`npm ci\` first"

step "1/6 the Prisma client (generated when missing or when the schema or Prisma changed)"
node scripts/ensure-prisma-client.mjs || fail "the Prisma client could not be generated (see above)"

step "2/6 checking PostgreSQL for the tests"
ADMIN_URL="${TEST_DATABASE_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
# pg is a dependency already; the URL is passed by environment, never printed with its password.
if ! PG_ERROR="$(TEST_DATABASE_ADMIN_URL="$ADMIN_URL" node -e '
  const { Client } = require("pg");
  const c = new Client({ connectionString: process.env.TEST_DATABASE_ADMIN_URL, connectionTimeoutMillis: 5000 });
  c.connect()
    .then(() => c.query("SELECT current_setting(\x27server_version\x27) AS v, rolcreatedb OR rolsuper AS ok FROM pg_roles WHERE rolname = current_user"))
    .then((r) => {
      const row = r.rows[0] || {};
      if (!row.ok) throw new Error("the role cannot create databases (tests create one per suite): ALTER ROLE ... CREATEDB");
      console.error("[test]   PostgreSQL " + row.v + " reachable, role may create databases");
      return c.end();
    })
    .catch((e) => { console.log(e.message || String(e)); process.exit(1); });
')"; then
  SAFE_URL="$(printf '%s' "$ADMIN_URL" | sed -E 's#//([^:/@]+):[^@]*@#//\1:***@#')"
  fail "PostgreSQL is not usable at $SAFE_URL: $PG_ERROR" \
    "The integration tests need a real PostgreSQL (each suite creates and drops its own database)." \
    "Start one on 127.0.0.1:5432 whose user 'postgres' may connect without a password and create databases, e.g.:" \
    "  docker run -d --name tether-pg -p 127.0.0.1:5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16" \
    "  or: sudo apt-get install postgresql (then allow local trust or set a password)" \
    "or point the tests at another server with a role that has CREATEDB:" \
    "  TEST_DATABASE_ADMIN_URL=postgresql://user:password@host:5432/postgres npm test"
fi

step "3/6 typecheck (tsc --noEmit)"
npm run --silent typecheck || fail "typecheck failed (see the errors above)"

step "4/6 lint (eslint)"
npm run --silent lint || fail "lint failed (see the errors above); \`npx eslint --fix .\` fixes some"

step "5/6 ensuring the Temporal CLI (a first build from the Go module proxy takes ~5 min; cached afterwards)"
TEMPORAL_CLI="$(bash scripts/ensure-temporal.sh)" ||
  fail "no Temporal CLI" "install Go >= the version in tools/temporal-cli/go.mod, or set TEMPORAL_CLI=/path/to/temporal"
export TEMPORAL_CLI
printf '[test]   %s (%s)\n' "$TEMPORAL_CLI" "$("$TEMPORAL_CLI" --version 2>/dev/null | head -n1)" >&2

step "6/6 tests (jest --runInBand${*:+ $*})"
npx jest --runInBand "$@" || fail "tests failed (see above); rerun one file with \`npm test -- test/<name>.test.ts\`"

printf '\n[test] all steps passed in %ss\n' "$((SECONDS - START))" >&2
