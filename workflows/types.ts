// The connection workflow's input and result: its contract with the API that starts it.
import type { MachineSnapshot, ConnectionStatus, VendorRevocation } from '../domain/connection';
import type { MaintenancePolicy } from '../domain/policy';

export interface ConnectionLifecycleInput {
  connectionId: string;
  tenantId: string;
  vendor: string;
  policy?: Partial<MaintenancePolicy>;
  /** Linked through the vendor's consent page: wait for the install instead of establishing at once. */
  awaitInstall?: boolean;
  /** Set only by continueAsNew: the machine's state carried over to the new run. */
  carriedState?: MachineSnapshot;
}

export interface ConnectionLifecycleResult {
  connectionId: string;
  status: ConnectionStatus;
  vendorRevocation?: VendorRevocation;
}
