// Outbound safety: the worker calls user-supplied URLs with credentials, so only public https
// addresses (loopback only when configured), no redirects, bounded time and size.
import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { checkInstanceUrl } from '../vendor-kit/url-policy';
import { VendorError } from '../vendor-kit/vendor-error';
import { createVendorHttp } from '../vendor-kit/vendor-http';

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    } else if (req.url === '/slow') {
      setTimeout(() => res.end('{}'), 2_000);
    } else if (req.url === '/huge') {
      res.end('x'.repeat(200_000));
    } else {
      res.end('{"ok":true}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const strict = () =>
  createVendorHttp({ timeoutMs: 500, maxResponseBytes: 100_000, allowInsecureLoopback: false });
const loopbackAllowed = () =>
  createVendorHttp({ timeoutMs: 500, maxResponseBytes: 100_000, allowInsecureLoopback: true });

async function failure(promise: Promise<unknown>): Promise<VendorError> {
  const err = await promise.then(
    () => null,
    (e) => e,
  );
  expect(err).toBeInstanceOf(VendorError);
  return err as VendorError;
}

test.each([
  ['plain http', 'http://acme.example.com', 'https'],
  // One refusal for every host that is not public, loopback included.
  ['private address', 'https://10.1.2.3', 'must name a public host'],
  ['cloud metadata (link-local)', 'https://169.254.169.254', 'must name a public host'],
  ['IPv6 unique-local', 'https://[fd00::1]', 'must name a public host'],
  ['IPv4-mapped private', 'https://[::ffff:192.168.0.1]', 'must name a public host'],
  ['loopback', 'https://127.0.0.1', 'must name a public host'],
])('instance URL refused: %s', (_name, url, why) => {
  const result = checkInstanceUrl(url, { allowInsecureLoopback: false });
  expect('error' in result && result.error).toMatch(why);
});

test('a public https URL is accepted and normalised', () => {
  expect(checkInstanceUrl('https://acme.cloud.invgate.net/', { allowInsecureLoopback: false })).toEqual({
    url: 'https://acme.cloud.invgate.net',
  });
});

test('loopback is refused unless configured; private ranges even then', async () => {
  const http = strict();
  expect((await failure(http.send({ method: 'GET', url: `${base}/` }))).type).toBe('InvalidConfiguration');
  await http.close();
  const dev = loopbackAllowed();
  expect((await dev.send({ method: 'GET', url: `${base}/` })).status).toBe(200);
  expect((await failure(dev.send({ method: 'GET', url: 'https://10.0.0.1/' }))).type).toBe(
    'InvalidConfiguration',
  );
  await dev.close();
});

test('a name resolving to a non-public address is refused at connect time, as a name that does not resolve', async () => {
  // This machine's own name resolves to loopback (/etc/hosts) but passes the URL check by name:
  // only the connect-time check on the resolved address can refuse it.
  const name = hostname();
  expect((await lookup(name)).address).toMatch(/^127\./);
  const http = strict();
  const err = await failure(http.send({ method: 'GET', url: `https://${name}:1/` }));
  expect(err.type).toBe('InvalidConfiguration');
  expect(err.message).toBe(`host ${name} is not a public host: check the instance URL`);
  // The same words for a name that does not exist: a refusal does not tell which internal names resolve.
  const unknown = await failure(http.send({ method: 'GET', url: 'https://nowhere.tether-test.invalid/' }));
  expect(unknown.type).toBe('InvalidConfiguration');
  expect(unknown.message).toBe(
    'host nowhere.tether-test.invalid is not a public host: check the instance URL',
  );
  await http.close();
});

test('redirects are not followed', async () => {
  const http = loopbackAllowed();
  const res = await http.send({ method: 'GET', url: `${base}/redirect` });
  expect(res.status).toBe(302);
  await http.close();
});

test('slow and oversized answers fail as vendor unavailable', async () => {
  const http = loopbackAllowed();
  expect((await failure(http.send({ method: 'GET', url: `${base}/slow` }))).message).toMatch(/timed out/);
  expect((await failure(http.send({ method: 'GET', url: `${base}/huge` }))).message).toMatch(/more than/);
  await http.close();
});
