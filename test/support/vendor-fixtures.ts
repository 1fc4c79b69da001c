// What the vendor contract test (test/vendor-contract.test.ts) needs to know about each catalog vendor
// that the catalog itself does not say: how to ask its simulator for good, refused and under-scoped
// credentials (simulators/README.md: the credential names the scenario), and how to tell from outside
// whether a token still works. Every catalog vendor must have an entry.
import { DEMO_SECRET } from '../../simulators/scenario';
import { install, slackWebApi } from './slack';
import type { Stack } from './stack';

type Credentials = Record<string, string>;

interface Fixture {
  /** The simulator that plays the vendor (both Slack connectors share one). */
  simulator: 'invgate' | 'promapp' | 'halo' | 'ninjaone' | 'slack';
  /** Whether the customer enters an instance URL (Slack's addresses are fixed). */
  instanceUrl: boolean;
  /** Credentials for a demo scenario such as `demo-all-scopes.case`. */
  credentials(scenario: string): Credentials;
  /** Credentials the vendor refuses, unique per `name`, and the words of its refusal. */
  refused: { credentials(name: string): Credentials; message: RegExp };
  /** What the simulator's `demo-missing-scopes` leaves out, in the order the connection lists it. */
  missingScopes: string[];
  /** Steps after the link before the vendor grants anything: Slack's consent page. */
  install?(stack: Stack, id: string): Promise<void>;
  /** Vendors that revoke tokens (the catalog's revoke.supported): the call, and a check from outside. */
  revocation?: { endpoint: string; tokenWorks(stack: Stack, token: string): Promise<boolean> };
}

/** Tokens are kept alive one way or the other (Slack's install: both, by the app's rotation setting). */
interface Renewed {
  /** Tokens expire: a scenario whose tokens live 3 s, to watch them renewed. */
  renewal: { scenario: string };
}
interface Probed {
  /**
   * `demo-all-scopes` tokens never expire: they are probed instead, and one revoked at the vendor shows
   * in the status message in these words.
   */
  probe: { revoked: RegExp };
}

export type VendorFixture = Fixture & ((Renewed & Partial<Probed>) | (Probed & Partial<Renewed>));

/** A client id and secret (InvGate, Halo, NinjaOne, a Slack app): the id names the scenario. */
const clientCredentials = (scenario: string) => ({ clientId: scenario, clientSecret: DEMO_SECRET });
const wrongSecret = (name: string) => ({ clientId: `demo-all-scopes.${name}`, clientSecret: 'wrong-secret' });

const slackTokenWorks = async (stack: Stack, token: string) =>
  (await slackWebApi(stack, 'auth.test', {}, token)).ok === true;
const slackRevocation = { endpoint: 'POST /api/auth.revoke', tokenWorks: slackTokenWorks };

/** The link request for a catalog vendor's simulator (its instance URL, unless the vendor's is fixed). */
export function linkRequest(
  stack: Stack,
  vendor: string,
  credentials: Credentials,
  settings?: Record<string, unknown>,
) {
  return {
    vendor,
    ...(fixtureOf(vendor).instanceUrl ? { instanceUrl: stack.instanceUrl(vendor) } : {}),
    credentials,
    ...(settings ? { settings } : {}),
  };
}

/**
 * The same with the simulator's credentials for a demo scenario, e.g. `demo-ttl-3.mine` (after the dot:
 * the caller's own name, for its own counters and faults).
 */
export const demoLink = (
  stack: Stack,
  vendor: string,
  scenario: string,
  settings?: Record<string, unknown>,
) => linkRequest(stack, vendor, fixtureOf(vendor).credentials(scenario), settings);

function fixtureOf(vendor: string): VendorFixture {
  const fixture = VENDOR_FIXTURES[vendor];
  if (!fixture) throw new Error(`no fixture for vendor ${vendor}`);
  return fixture;
}

export const VENDOR_FIXTURES: Record<string, VendorFixture> = {
  invgate: {
    simulator: 'invgate',
    instanceUrl: true,
    credentials: clientCredentials,
    // InvGate answers a wrong secret with HTTP 200 and an OAuth error body.
    refused: { credentials: wrongSecret, message: /invalid_client/ },
    missingScopes: ['api.v1.locations:get', 'api.v1.incident.custom_field:post'],
    renewal: { scenario: 'demo-ttl-3' },
  },
  promapp: {
    simulator: 'promapp',
    instanceUrl: true,
    credentials: (scenario) => ({ token: scenario }),
    refused: { credentials: (name) => ({ token: `not-a-real-token.${name}` }), message: /401/ },
    missingScopes: ['SCIM'],
    probe: { revoked: /401/ },
  },
  halo: {
    simulator: 'halo',
    instanceUrl: true,
    credentials: clientCredentials,
    refused: { credentials: wrongSecret, message: /invalid_client/ },
    missingScopes: ['read:assets'],
    renewal: { scenario: 'demo-ttl-3' },
  },
  ninjaone: {
    simulator: 'ninjaone',
    instanceUrl: true,
    credentials: clientCredentials,
    refused: { credentials: wrongSecret, message: /invalid_client/ },
    missingScopes: ['control'],
    renewal: { scenario: 'demo-ttl-3' },
    revocation: {
      endpoint: 'POST /ws/oauth/revoke',
      async tokenWorks(stack, token) {
        const res = await fetch(`${stack.instanceUrl('ninjaone')}/v2/organizations?pageSize=1`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return res.status === 200;
      },
    },
  },
  slack: {
    simulator: 'slack',
    instanceUrl: false,
    credentials: (scenario) => ({ token: `xoxp-${scenario}` }),
    // Not a demo scenario, so unknown to Slack (`xoxp-demo-` keeps it apart in the simulator's counters).
    refused: { credentials: (name) => ({ token: `xoxp-demo-unknown.${name}` }), message: /invalid_auth/ },
    missingScopes: ['admin'],
    probe: { revoked: /token_revoked/ },
    revocation: slackRevocation,
  },
  'slack-grid': {
    simulator: 'slack',
    instanceUrl: false,
    credentials: clientCredentials,
    // Slack takes the client id at the consent page and refuses the secret at the code exchange.
    refused: { credentials: wrongSecret, message: /bad_client_secret/ },
    missingScopes: ['admin'],
    async install(stack, id) {
      expect((await install(stack, id)).res.statusCode).toBe(202);
    },
    // With token rotation on in the app, tokens expire and are renewed; without it they never expire.
    renewal: { scenario: 'demo-rotating-3' },
    probe: { revoked: /token_revoked/ },
    revocation: slackRevocation,
  },
};
