// Every simulated vendor; each is served under /<name>.
import { halo } from './halo';
import { invgate } from './invgate';
import { ninjaone } from './ninjaone';
import { promapp } from './promapp';
import { slack } from './slack';
import type { VendorSimulator } from './vendor';

export const vendorSimulators: readonly VendorSimulator[] = [invgate, promapp, halo, ninjaone, slack];
