// NinjaOne's quirks on the real stack: the instance chosen by region, scopes chosen from monitoring,
// management and control (never offline_access). What NinjaOne shares with every vendor (one-hour
// tokens re-granted, RFC 7009 revocation among them) is in test/vendor-contract.test.ts.
import { ninjaone } from '../catalog/ninjaone';
import { startStack, type Stack } from './support/stack';
import { demoLink } from './support/vendor-fixtures';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const link = (clientId: string, settings?: Record<string, unknown>) =>
  stack.link(demoLink(stack, 'ninjaone', clientId, settings));

const stats = (clientId: string) => stack.sim.control.stats('ninjaone', clientId);

test('links in two requests: token and one probe; a URL given wins over the region', async () => {
  const res = await link('demo-all-scopes.link', { region: 'eu' });
  expect(res.body.instanceUrl).toBe(stack.instanceUrl('ninjaone'));
  await stack.waitForStatus(res.id, 'active');
  const calls = stats('demo-all-scopes.link');
  expect(calls.tokenRequests).toBe(1);
  expect(calls.apiRequests).toBe(1);
});

test('without an instance URL, the region names the instance', () => {
  const defaultUrl = ninjaone.hooks!.defaultInstanceUrl!;
  expect(defaultUrl({})).toBe('https://app.ninjarmm.com');
  expect(defaultUrl({ region: 'eu' })).toBe('https://eu.ninjarmm.com');
  expect(defaultUrl({ region: 'oc' })).toBe('https://oc.ninjarmm.com');
});

test('control left out in settings is neither requested nor required', async () => {
  const res = await link('demo-missing-scopes.no-control', { scopes: ['monitoring', 'management'] });
  const connection = await stack.waitForStatus(res.id, 'active');
  expect(connection.grantedScopes).toEqual(['management', 'monitoring']);
});

test('offline_access is refused with a 400 naming the field and why', async () => {
  const res = await link('demo-all-scopes', { scopes: ['monitoring', 'offline_access'] });
  expect(res.status).toBe(400);
  expect(res.body.error).toBe('validation_failed');
  expect(res.body.issues).toEqual([
    {
      field: 'body.settings.scopes.1',
      message: expect.stringMatching(/offline_access is never requested: .*EU/),
    },
  ]);
});

test('monitoring cannot be left out', async () => {
  const res = await link('demo-all-scopes', { scopes: ['control'] });
  expect(res.status).toBe(400);
  expect(res.body.message).toMatch(/settings\.scopes.*required scopes cannot be left out: monitoring/);
});

test('the connector tells the customer what to click, paste and grant', async () => {
  const detail = (await stack.app.inject({ method: 'GET', url: '/v1/connectors/ninjaone' })).json();
  expect(detail.setupSteps.join('\n')).toMatch(/API Services \(machine-to-machine\)/);
  expect(detail.requiredScopes).toEqual([
    { scope: 'monitoring', purpose: expect.any(String) },
    { scope: 'management', purpose: expect.any(String), optional: true },
    { scope: 'control', purpose: expect.any(String), optional: true },
  ]);
  expect(detail.settingsFields.properties.region).toMatchObject({
    enum: ['app', 'us2', 'eu', 'ca', 'oc'],
    default: 'app',
  });
  expect(detail.revoke).toEqual({ supported: true });
});
