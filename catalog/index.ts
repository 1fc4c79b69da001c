// The vendor catalog: every vendor the product can link, by id.
import { halo } from './halo';
import { invgate } from './invgate';
import { ninjaone } from './ninjaone';
import { promapp } from './promapp';
import { slack, slackGrid } from './slack';
import type { VendorDefinition } from '../vendor-kit/definition';

export const vendors: readonly VendorDefinition[] = [invgate, promapp, halo, ninjaone, slack, slackGrid];

const byId = new Map(vendors.map((v) => [v.id, v]));

export function findVendor(id: string): VendorDefinition | undefined {
  return byId.get(id);
}

export function getVendor(id: string): VendorDefinition {
  const vendor = byId.get(id);
  if (!vendor) throw new Error(`unknown vendor ${id}`);
  return vendor;
}

export type { VendorDefinition } from '../vendor-kit/definition';
