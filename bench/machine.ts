// What the numbers were measured on: machine, operating system and versions, read at run time.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  loadAverageAtStart: number[];
}

export interface Versions {
  node: string;
  temporalCli: string;
  temporalSdk: string;
  postgres: string;
  prisma: string;
  fastify: string;
  autocannon: string;
  gitCommit: string;
  gitDirty: boolean;
}

export function machineInfo(): MachineInfo {
  let osName = `${os.type()} ${os.release()}`;
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    osName = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(release)?.[1] ?? osName;
  } catch {
    // not Linux: keep os.type()
  }
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: osName,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

const ROOT = path.join(__dirname, '..');
const packageVersion = (name: string): string =>
  (
    JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

export async function versions(temporalCli: string, adminDatabaseUrl: string): Promise<Versions> {
  const cli = (await run(temporalCli, ['--version'])).stdout.trim();
  const client = new pg.Client({ connectionString: adminDatabaseUrl });
  await client.connect();
  let postgres: string;
  try {
    postgres = (await client.query<{ version: string }>('select version()')).rows[0]!.version;
  } finally {
    await client.end();
  }
  const git = async (...args: string[]) => (await run('git', args, { cwd: ROOT })).stdout.trim();
  let gitCommit = 'unknown';
  let gitDirty = false;
  try {
    gitCommit = await git('rev-parse', '--short', 'HEAD');
    gitDirty = (await git('status', '--porcelain')).length > 0;
  } catch {
    // not a git checkout
  }
  return {
    node: process.version,
    temporalCli: cli,
    temporalSdk: packageVersion('@temporalio/worker'),
    postgres,
    prisma: packageVersion('@prisma/client'),
    fastify: packageVersion('fastify'),
    autocannon: packageVersion('autocannon'),
    gitCommit,
    gitDirty,
  };
}
