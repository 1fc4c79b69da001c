// One Fastify app on loopback serving every vendor simulator under /<vendor> and the control API under
// /_control.
import Fastify from 'fastify';
import { SimulatorControl } from './control';
import { registerControlRoutes } from './control-routes';
import { acceptFormBodies } from './form-body';
import { acceptScimBodies } from './scim-body';
import type { SimulatorOptions } from './simulator-options';
import { VendorRuntime } from './vendor-runtime';
import { vendorSimulators } from './vendors';

export type { SimulatorOptions } from './simulator-options';
export { SimulatorControl } from './control';
export type { AddFaultInput, Fault } from './control-input';
export { ControlInputError } from './control-input';
export type { CallCounters, VendorStats } from './call-stats';
export type { LoggedRequest } from './request-log';

export interface RunningSimulators {
  /** e.g. http://127.0.0.1:4010; a vendor's instance URL is baseUrl + '/<vendor>'. */
  baseUrl: string;
  port: number;
  close(): Promise<void>;
  control: SimulatorControl;
}

export async function startSimulators(options: SimulatorOptions = {}): Promise<RunningSimulators> {
  const host = options.host ?? '127.0.0.1';
  const app = Fastify({ logger: options.logger ?? false });
  acceptFormBodies(app);
  acceptScimBodies(app);

  const runtimes = new Map<string, VendorRuntime>();
  for (const vendor of vendorSimulators) {
    const runtime = new VendorRuntime(vendor.name, vendor.scenarios);
    runtimes.set(vendor.name, runtime);
    await app.register(async (scoped) => vendor.register(scoped, runtime, options), {
      prefix: `/${vendor.name}`,
    });
  }
  const control = new SimulatorControl(runtimes);
  await app.register(async (scoped) => registerControlRoutes(scoped, control), { prefix: '/_control' });

  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { baseUrl: `http://${urlHost}:${port}`, port, close: () => app.close(), control };
}
