// Instance URLs as people paste them, per vendor: what is stored, and what is refused with what to enter.
import { getVendor } from '../catalog';
import { normaliseInstanceUrl } from '../vendor-kit/instance-url';

const production = { allowInsecureLoopback: false };
const loopback = { allowInsecureLoopback: true };
const stored = (vendor: string, raw: string, policy = production) =>
  normaliseInstanceUrl(getVendor(vendor), raw, policy);

describe.each([
  [
    'invgate',
    [
      ['https://acme.cloud.invgate.net', 'https://acme.cloud.invgate.net'],
      ['https://acme.cloud.invgate.net/requests/123#x', 'https://acme.cloud.invgate.net'],
      ['https://ACME.Cloud.InvGate.net/', 'https://acme.cloud.invgate.net'],
      ['acme.sd.cloud.invgate.net/requests/show/index/id/5?tab=2', 'https://acme.sd.cloud.invgate.net'],
      ['https://acme.cloud.invgate.net/api/v1/incident', 'https://acme.cloud.invgate.net'],
      // Self-hosted under a folder: the folder is the instance; a pasted API path is cut back to it.
      ['https://itsm.example.com/sm/api/v1/users', 'https://itsm.example.com/sm'],
      ['https://itsm.example.com/sm/oauth/v2/0/access_token', 'https://itsm.example.com/sm'],
    ],
  ],
  [
    'halo',
    [
      ['https://acme.haloitsm.com', 'https://acme.haloitsm.com'],
      ['https://acme.haloitsm.com/api', 'https://acme.haloitsm.com'],
      ['https://acme.haloitsm.com/api/', 'https://acme.haloitsm.com'],
      ['https://ACME.HaloPSA.com/auth/token?tenant=acme', 'https://acme.halopsa.com'],
      ['https://acme.haloitsm.com/ticket?id=42#top', 'https://acme.haloitsm.com'],
      ['https://halo.example.com/helpdesk/api', 'https://halo.example.com/helpdesk'],
      ['https://halo.example.com/helpdesk/', 'https://halo.example.com/helpdesk'],
    ],
  ],
  [
    'promapp',
    [
      ['https://api.promapp.com', 'https://api.promapp.com/api/scim'],
      ['https://api.promapp.com/', 'https://api.promapp.com/api/scim'],
      ['https://API.Promapp.com/api/scim/', 'https://api.promapp.com/api/scim'],
      ['https://api.promapp.com/api', 'https://api.promapp.com/api/scim'],
      ['https://api.promapp.com/api/scim/Users?count=1', 'https://api.promapp.com/api/scim'],
      ['api.promapp.com', 'https://api.promapp.com/api/scim'],
    ],
  ],
  [
    'ninjaone',
    [
      ['https://eu.ninjarmm.com', 'https://eu.ninjarmm.com'],
      ['https://EU.ninjarmm.com/#/dashboard', 'https://eu.ninjarmm.com'],
      ['https://app.ninjarmm.com/v2/organizations?pageSize=1', 'https://app.ninjarmm.com'],
      ['https://rmm.example.com/ninja/ws/oauth/token', 'https://rmm.example.com/ninja'],
    ],
  ],
  [
    'slack',
    [
      ['https://slack.com', 'https://slack.com'],
      ['https://acme.slack.com/', 'https://slack.com'],
    ],
  ],
])('%s', (vendor, cases) => {
  test.each(cases)('%s is stored as %s', (raw, expected) => {
    expect(stored(vendor, raw)).toEqual({ url: expected });
  });
});

describe('refused, naming what to enter instead', () => {
  test("Promapp's sign-in host is not its API host", () => {
    const result = stored('promapp', 'https://acme.promapp.com');
    expect(result).toEqual({ error: expect.stringContaining('https://api.promapp.com/api/scim') });
    expect((result as { error: string }).error).toMatch(/sign-in address/);
    expect(stored('promapp', 'https://acme.promapp.com/Process/Home')).toHaveProperty('error');
  });

  test.each(['invgate', 'halo', 'promapp', 'ninjaone'])(
    '%s: a URL with a user name or password',
    (vendor) => {
      const result = stored(vendor, `https://user:pw@${getVendor(vendor).instanceUrl.example.slice(8)}`);
      expect(result).toEqual({ error: expect.stringMatching(/user name or password.*e\.g\. https:\/\//) });
      expect(stored(vendor, 'https://user@host.example.com')).toHaveProperty('error');
    },
  );

  test('Slack addresses are fixed', () => {
    expect(stored('slack-grid', 'https://example.com')).toEqual({ error: expect.stringMatching(/leave/) });
  });

  test('not a URL, plain http, this machine or a private address (one refusal for both)', () => {
    expect(stored('invgate', 'not a url')).toEqual({
      error: 'must be a URL such as https://acme.cloud.invgate.net',
    });
    expect(stored('invgate', 'http://acme.cloud.invgate.net')).toEqual({ error: 'must use https' });
    expect(stored('halo', 'https://127.0.0.1/halo')).toEqual({ error: 'must name a public host' });
    expect(stored('halo', 'https://10.1.2.3/halo')).toEqual({ error: 'must name a public host' });
  });
});

describe('the simulators on loopback, as the tests enter them', () => {
  const sim = 'http://127.0.0.1:4010';
  test.each([
    ['promapp', `${sim}/promapp`, `${sim}/promapp/api/scim`],
    ['promapp', `${sim}/promapp/api/scim/`, `${sim}/promapp/api/scim`],
    ['halo', `${sim}/halo/api`, `${sim}/halo`],
    ['invgate', `http://LOCALHOST:4010/invgate/`, 'http://localhost:4010/invgate'],
    ['ninjaone', `${sim}/ninjaone/v2/organizations`, `${sim}/ninjaone`],
  ])('%s: %s is stored as %s', (vendor, raw, expected) => {
    expect(stored(vendor, raw, loopback)).toEqual({ url: expected });
  });
});
