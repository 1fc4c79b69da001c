// Measurement hooks in the benchmark's own throw-away database (never in the product's migrations):
// - every UPDATE of a connection row is logged with its transaction id and the token expiry it
//   replaced, and a status change is announced with NOTIFY (delivered at commit: "active observed in
//   PostgreSQL");
// - every audit event's transaction id is kept, so a `refresh_succeeded` event joins the row update
//   of the same transaction, whose old token expiry is the expiry of the token it replaced.
// The triggers add two small INSERTs to each transition's transaction; both runs compared in the
// report carry them alike.
import pg from 'pg';
import { runStatement } from '../test/support/database';

const SQL = `
CREATE TABLE bench_connection_log (
  id bigserial PRIMARY KEY,
  txid bigint NOT NULL DEFAULT txid_current(),
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  connection_id uuid NOT NULL,
  old_status text,
  new_status text,
  old_token_expires_at timestamptz,
  new_token_expires_at timestamptz,
  last_checked_at timestamptz,
  next_check_at timestamptz
);
CREATE INDEX ON bench_connection_log (txid);
CREATE INDEX ON bench_connection_log (connection_id, id);
CREATE TABLE bench_audit_tx (audit_id bigint PRIMARY KEY, txid bigint NOT NULL DEFAULT txid_current());

CREATE FUNCTION bench_log_connection() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO bench_connection_log
    (connection_id, old_status, new_status, old_token_expires_at, new_token_expires_at, last_checked_at, next_check_at)
  VALUES
    (NEW.id, OLD.status, NEW.status, OLD."tokenExpiresAt", NEW."tokenExpiresAt", NEW."lastCheckedAt", NEW."nextCheckAt");
  IF OLD.status IS DISTINCT FROM NEW.status THEN
    PERFORM pg_notify('bench_status', NEW.id::text || ' ' || NEW.status::text);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER bench_log_connection AFTER UPDATE ON "Connection"
  FOR EACH ROW EXECUTE FUNCTION bench_log_connection();

CREATE FUNCTION bench_log_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO bench_audit_tx (audit_id) VALUES (NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER bench_log_audit AFTER INSERT ON "AuditEvent"
  FOR EACH ROW EXECUTE FUNCTION bench_log_audit();
`;

export const installInstrumentation = (databaseUrl: string) => runStatement(databaseUrl, SQL);

/** Status changes as PostgreSQL commits them, timestamped on arrival (performance.now()). */
export class StatusListener {
  private readonly client: pg.Client;
  private readonly seen = new Map<string, Map<string, number>>();
  private readonly waiters = new Map<string, { status: string; resolve: (at: number) => void }[]>();
  private counts = new Map<string, number>();

  constructor(databaseUrl: string) {
    this.client = new pg.Client({ connectionString: databaseUrl });
  }

  async start(): Promise<void> {
    await this.client.connect();
    this.client.on('notification', (n) => {
      const at = performance.now();
      const [id, status] = (n.payload ?? '').split(' ') as [string, string];
      let statuses = this.seen.get(id);
      if (!statuses) this.seen.set(id, (statuses = new Map()));
      if (!statuses.has(status)) statuses.set(status, at);
      this.counts.set(status, (this.counts.get(status) ?? 0) + 1);
      const waiting = this.waiters.get(id);
      if (!waiting) return;
      const due = (w: { status: string }) => w.status === status || w.status === '*';
      for (const w of waiting.filter(due)) w.resolve(at);
      const rest = waiting.filter((w) => !due(w));
      if (rest.length) this.waiters.set(id, rest);
      else this.waiters.delete(id);
    });
    await this.client.query('LISTEN bench_status');
  }

  /** When the connection first reached the status (performance.now() clock). */
  when(id: string, status: string, timeoutMs = 120_000): Promise<number> {
    const at = this.seen.get(id)?.get(status);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`connection ${id} did not reach ${status} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const list = this.waiters.get(id) ?? [];
      list.push({
        status,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      });
      this.waiters.set(id, list);
    });
  }

  /** The connection's first status change (its link's outcome): status and when (performance.now()). */
  async settled(id: string, timeoutMs = 120_000): Promise<{ status: string; at: number }> {
    const first = this.seen.get(id);
    if (first?.size) {
      const [status, at] = [...first.entries()][0]!;
      return { status, at };
    }
    await this.waitAny(id, timeoutMs);
    return this.settled(id, timeoutMs);
  }

  private waitAny(id: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`connection ${id} did not settle in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const list = this.waiters.get(id) ?? [];
      list.push({
        status: '*',
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      this.waiters.set(id, list);
    });
  }

  /** How many transitions into `status` were announced so far. */
  count(status: string): number {
    return this.counts.get(status) ?? 0;
  }

  /** PostgreSQL backends serving this database (for the CPU monitor). */
  async backendPids(): Promise<number[]> {
    const res = await this.client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
    );
    return res.rows.map((r) => r.pid);
  }

  async stop(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
