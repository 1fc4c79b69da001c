// Who used the CPU during the run: the whole machine (/proc/stat) against the benchmark's own
// processes (this one, its worker and load-generator children, the Temporal server, and the
// PostgreSQL backends serving its database) from /proc/<pid>/stat. The difference is other work on
// the machine, which the report shows next to every figure: on 2 cores it moves latencies a lot.
// Linux only; elsewhere the monitor records nothing.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { round } from './stats';

const CLK_TCK = 100;

interface Sample {
  at: number;
  /** Busy and total jiffies of the machine since boot (all cores). */
  busy: number;
  total: number;
  /** Per pid: its role and utime + stime ticks. */
  pids: Map<number, { role: string; ticks: number }>;
  load1: number;
}

export interface CpuWindow {
  seconds: number;
  /** Average cores busy on the whole machine (of `cores`). */
  machineCores: number;
  /** Average cores used by the benchmark's processes. */
  benchCores: number;
  /** The rest: other work on the machine. */
  otherCores: number;
  load1Max: number;
  /** Cores used per role of the benchmark's processes (bench, worker, temporal, postgres, load). */
  byRole: Record<string, number>;
}

export interface TrackedPid {
  pid: number;
  role: string;
}

function readMachine(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

function readTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state is index 0, so utime (14th overall) is index 11, stime 12.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

export class CpuMonitor {
  private readonly samples: Sample[] = [];
  private timer?: NodeJS.Timeout;
  private busy = false;

  constructor(private readonly pids: () => Promise<TrackedPid[]>) {}

  start(intervalMs = 250): void {
    const take = async () => {
      if (this.busy) return;
      this.busy = true;
      try {
        const machine = readMachine();
        if (!machine) return;
        const pids: Sample['pids'] = new Map();
        for (const { pid, role } of await this.pids().catch(() => [])) {
          const ticks = readTicks(pid);
          if (ticks !== null) pids.set(pid, { role, ticks });
        }
        this.samples.push({ at: Date.now(), ...machine, pids, load1: os.loadavg()[0]! });
      } finally {
        this.busy = false;
      }
    };
    void take();
    this.timer = setInterval(() => void take(), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Waits until the given roles of the benchmark's processes used under `belowCores` over the last second (their
   * own work done: a start-up, a server's backlog), at most `limitMs`; the ms waited. Other work on the machine
   * does not count, but slows theirs down: a wait that takes a second on a quiet machine can take many.
   */
  async quiet(roles: string[], belowCores = 0.05, limitMs = 30_000): Promise<number> {
    const start = Date.now();
    for (;;) {
      const from = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const w = this.window(from, Date.now());
      const cores = roles.reduce((sum, role) => sum + (w?.byRole[role] ?? 0), 0);
      if (!w || cores < belowCores || Date.now() - start > limitMs) return Date.now() - start;
    }
  }

  /** Averages between two times (ms since epoch). */
  window(from: number, to: number): CpuWindow | null {
    // The samples just outside the window, so it is covered whole (to within one interval).
    let first = 0;
    for (let i = 0; i < this.samples.length && this.samples[i]!.at <= from; i++) first = i;
    const last = this.samples.findIndex((s) => s.at >= to);
    const inside = this.samples.slice(first, last === -1 ? undefined : last + 1);
    if (inside.length < 2) return null;
    const cores = os.cpus().length;
    let machine = 0;
    let total = 0;
    let ours = 0;
    const roles: Record<string, number> = {};
    for (let i = 1; i < inside.length; i++) {
      const a = inside[i - 1]!;
      const b = inside[i]!;
      machine += b.busy - a.busy;
      total += b.total - a.total;
      for (const [pid, now] of b.pids) {
        const before = a.pids.get(pid);
        if (before === undefined) continue;
        ours += now.ticks - before.ticks;
        roles[now.role] = (roles[now.role] ?? 0) + now.ticks - before.ticks;
      }
    }
    const seconds = (inside[inside.length - 1]!.at - inside[0]!.at) / 1000;
    const byRole = Object.fromEntries(
      Object.entries(roles).map(([role, ticks]) => [
        role,
        seconds > 0 ? round(ticks / CLK_TCK / seconds, 3) : 0,
      ]),
    );
    const machineCores = total > 0 ? (machine / total) * cores : 0;
    const benchCores = seconds > 0 ? ours / CLK_TCK / seconds : 0;
    return {
      seconds: round(seconds, 0),
      machineCores: round(machineCores, 2),
      // Three decimals: at a few refreshes per second, 0.01 core is several ms per refresh.
      benchCores: round(Math.min(benchCores, machineCores), 3),
      otherCores: round(Math.max(0, machineCores - benchCores), 2),
      load1Max: round(Math.max(...inside.map((s) => s.load1)), 2),
      byRole,
    };
  }
}

export interface CpuCost {
  /** CPU milliseconds of the benchmark's processes per unit of work. */
  totalMs: number;
  byRoleMs: Record<string, number>;
}

/**
 * CPU per unit of work (a link, a refresh) over a window, less what the same processes use when idle
 * (timers, pollers, the Temporal server's own housekeeping) if `idle` is given. Less disturbed by other
 * load on the machine than wall time.
 */
export function cpuPerUnit(w: CpuWindow | null, units: number, idle?: CpuWindow | null): CpuCost | null {
  if (!w || units <= 0) return null;
  const busy = (cores: number, idleCores = 0) => Math.max(0, cores - idleCores);
  const per = (cores: number) => round((cores * w.seconds * 1000) / units, 1);
  return {
    totalMs: per(busy(w.benchCores, idle?.benchCores)),
    byRoleMs: Object.fromEntries(
      Object.entries(w.byRole).map(([role, cores]) => [role, per(busy(cores, idle?.byRole[role]))]),
    ),
  };
}
