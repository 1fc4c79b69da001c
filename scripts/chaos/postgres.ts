// A throwaway PostgreSQL server for the chaos run: initdb into a temporary folder, pg_ctl on a free
// loopback port, trust authentication, no Unix socket. Never touches the machine's own server.
// initdb refuses to run as root: as root, every pg command runs as the `postgres` user (runuser).
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, appendFileSync, chmodSync, chownSync, mkdirSync, readdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';

export interface LocalPostgresOptions {
  /** Folder to hold the cluster (created; must not exist or be empty). */
  dir: string;
  port: number;
  /** Folder with initdb and pg_ctl; default: PG_BIN, the newest /usr/lib/postgresql/<v>/bin, else PATH. */
  binDir?: string;
}

export interface LocalPostgres {
  url: string;
  port: number;
  dataDir: string;
  logFile: string;
  /** `pg_ctl restart -m immediate`: the server dies as in a crash and recovers from WAL. */
  restartImmediate(): Promise<void>;
  /** `pg_ctl stop -m immediate`, then start again after downMs: an outage clients must ride out. */
  crashAndStartAfter(downMs: number): Promise<void>;
  /** Stops the server (fast, then immediate if that hangs). Idempotent. */
  stop(): Promise<void>;
  /** Synchronous immediate stop, for process.on('exit') when the run dies without cleaning up. */
  stopSync(): void;
}

export function findPostgresBin(explicit?: string): string {
  const wanted = explicit ?? process.env.PG_BIN;
  if (wanted) {
    if (!existsSync(path.join(wanted, 'pg_ctl'))) throw new Error(`no pg_ctl in ${wanted}`);
    return wanted;
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(root, versions[0], 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'pg_ctl')) && existsSync(path.join(dir, 'initdb'))) return dir;
  }
  throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found: pass --pg-bin or set PG_BIN');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const bin = findPostgresBin(options.binDir);
  const asRoot = userInfo().uid === 0;
  const dataDir = path.join(options.dir, 'data');
  const logFile = path.join(options.dir, 'postgres.log');
  mkdirSync(options.dir, { recursive: true });
  if (asRoot) {
    let uid: number;
    let gid: number;
    try {
      const ids = await run('id', ['-u', 'postgres']);
      const gids = await run('id', ['-g', 'postgres']);
      uid = Number(ids.trim());
      gid = Number(gids.trim());
    } catch {
      throw new Error(
        'running as root, and initdb refuses root: a `postgres` user is needed to own the test cluster',
      );
    }
    chownSync(options.dir, uid, gid);
    // The postgres user must reach the folder through its parents (mkdtemp makes them 0700).
    chmodSync(path.dirname(options.dir), 0o755);
  }
  const command = (tool: string, args: string[]): [string, string[]] =>
    asRoot
      ? ['runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args]]
      : [path.join(bin, tool), args];
  const pg = (tool: string, args: string[]) => run(...command(tool, args));

  await pg('initdb', [
    '-D',
    dataDir,
    '-U',
    'tether',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
    '--no-instructions',
  ]);
  // In the cluster's own config so restarts keep them.
  appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    [
      '',
      '# tether chaos run',
      `port = ${options.port}`,
      "listen_addresses = '127.0.0.1'",
      "unix_socket_directories = ''",
      'max_connections = 100',
      "log_min_messages = 'warning'",
      '',
    ].join('\n'),
  );
  const start = () => pg('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start']);
  await start();
  // A database named like the role, so the URL needs nothing special.
  const url = `postgresql://tether@127.0.0.1:${options.port}/tether`;
  await pg('createdb', ['-h', '127.0.0.1', '-p', String(options.port), '-U', 'tether', 'tether']);

  let stopped = false;
  return {
    url,
    port: options.port,
    dataDir,
    logFile,
    async restartImmediate() {
      await pg('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-m', 'immediate', 'restart']);
    },
    async crashAndStartAfter(downMs: number) {
      await pg('pg_ctl', ['-D', dataDir, '-w', '-t', '60', '-m', 'immediate', 'stop']);
      await sleep(downMs);
      if (!stopped) await start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await pg('pg_ctl', ['-D', dataDir, '-w', '-t', '20', '-m', 'fast', 'stop']);
      } catch {
        await pg('pg_ctl', ['-D', dataDir, '-w', '-t', '20', '-m', 'immediate', 'stop']).catch(
          () => undefined,
        );
      }
    },
    stopSync() {
      if (stopped) return;
      stopped = true;
      try {
        execFileSync(...command('pg_ctl', ['-D', dataDir, '-w', '-t', '20', '-m', 'immediate', 'stop']), {
          stdio: 'ignore',
        });
      } catch {
        // not running
      }
    },
  };
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 120_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(
          new Error(`${path.basename(file)} ${args.join(' ')} failed: ${err.message}\n${stderr}`.trim()),
        );
      } else resolve(stdout);
    });
  });
}
