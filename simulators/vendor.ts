// What a vendor simulator is. Adding a vendor is one file exporting one of these, listed in vendors.ts.
import type { FastifyInstance } from 'fastify';
import type { ScenarioKind } from './scenario';
import type { SimulatorOptions } from './simulator-options';
import type { VendorRuntime } from './vendor-runtime';

export interface DemoInfo {
  /** The URL a user enters for this vendor (instance URL or SCIM base, as the catalog expects). */
  instanceUrl: string;
  /** How to authenticate with the happy-path demo credentials. */
  credentials: string;
}

export interface VendorSimulator {
  /** URL prefix (`/<name>`) and the vendor name in the control API. */
  readonly name: string;
  readonly title: string;
  /** Demo scenarios the vendor's credentials may name. */
  readonly scenarios: readonly ScenarioKind[];
  /** @param vendorUrl the simulator's base URL plus `/<name>` */
  demo(vendorUrl: string): DemoInfo;
  /** Adds the vendor's routes to `app`, which is already scoped under `/<name>`. */
  register(app: FastifyInstance, runtime: VendorRuntime, options: SimulatorOptions): void;
}
