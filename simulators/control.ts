// In-process control of the simulators, for tests and benchmarks; /_control exposes the same over HTTP.
import type { VendorStats } from './call-stats';
import {
  addFaultSchema,
  ControlInputError,
  installTargetSchema,
  parseControlInput,
  type AddFaultInput,
  type SetInstallTargetInput,
} from './control-input';
import type { ActiveFault } from './faults';
import type { LoggedRequest } from './request-log';
import type { ObservedRate } from './sliding-window-limiter';
import type { VendorRuntime } from './vendor-runtime';

export class SimulatorControl {
  private nextFaultId = 1;

  constructor(private readonly runtimes: ReadonlyMap<string, VendorRuntime>) {}

  get vendors(): string[] {
    return [...this.runtimes.keys()];
  }

  /** Forgets all tokens, codes, counters, faults, revocations, logged requests and users, on every vendor. */
  reset(): void {
    for (const runtime of this.runtimes.values()) runtime.reset();
  }

  /** Adds a fault and returns its id. Throws ControlInputError naming the bad field. */
  addFault(input: AddFaultInput): string {
    const spec = parseControlInput(addFaultSchema, input);
    const runtime = this.runtime(spec.vendor);
    const id = `fault-${this.nextFaultId++}`;
    runtime.faults.add({ ...spec, id, remaining: spec.times ?? Infinity });
    return id;
  }

  /** False when no such fault is active (it may have used up its `times`). */
  removeFault(id: string): boolean {
    return [...this.runtimes.values()].some((runtime) => runtime.faults.remove(id));
  }

  clearFaults(vendor?: string): void {
    const runtimes = vendor === undefined ? [...this.runtimes.values()] : [this.runtime(vendor)];
    for (const runtime of runtimes) runtime.faults.clear();
  }

  listFaults(): ActiveFault[] {
    return [...this.runtimes.values()].flatMap((runtime) => runtime.faults.list());
  }

  /** Counters for the vendor, or for one client_id / static token of it. */
  stats(vendor: string, match?: string): VendorStats {
    return this.runtime(vendor).stats.snapshot(match);
  }

  /** What each of the vendor's rate limits observed: the most requests it let through in a window, refusals. */
  rates(vendor: string): Record<string, ObservedRate> {
    return Object.fromEntries(
      [...this.runtime(vendor).limiters].map(([name, limiter]) => [name, limiter.observed()]),
    );
  }

  /** The vendor's last requests (up to 200), oldest first, headers as received. */
  requests(vendor: string): LoggedRequest[] {
    return this.runtime(vendor).requests.list();
  }

  /**
   * Where the consent page installs the app for `match` from now on (Slack: an Enterprise Grid organization,
   * one of its workspaces, or a workspace outside Grid); `target: null` goes back to the default.
   */
  setInstallTarget(input: SetInstallTargetInput): void {
    const { vendor, match, target } = parseControlInput(installTargetSchema, input);
    this.runtime(vendor).setInstallTarget(match, target);
  }

  /** Revokes every token issued so far to `match` (client_id or static token; '*' = all). New grants work. */
  revokeAll(vendor: string, match = '*'): void {
    this.runtime(vendor).revokeAll(match);
  }

  private runtime(vendor: string): VendorRuntime {
    const runtime = this.runtimes.get(vendor);
    if (!runtime) throw new ControlInputError('vendor', `unknown vendor; one of ${this.vendors.join(', ')}`);
    return runtime;
  }
}
