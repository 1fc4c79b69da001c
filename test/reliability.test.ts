// Faults found by the crash and restart run (`npm run chaos`), pinned down one by one.
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createApi, createServices } from '../main/services';
import { loadConfig } from '../platform/config';
import { Prisma, isDatabaseUnavailable } from '../platform/db';
import { createLogger } from '../platform/logger';
import { freePort } from '../dev/temporal-dev-server';
import { FailureType } from '../domain/failures';
import { startStack, type Stack } from './support/stack';
import { demoLink } from './support/vendor-fixtures';

describe('PostgreSQL unreachable', () => {
  test('the API answers 503 database_unavailable with Retry-After, never 500', async () => {
    // Nothing listens there: every query fails to connect, as while PostgreSQL restarts.
    const config = loadConfig({
      DATABASE_URL: `postgresql://tether@127.0.0.1:${await freePort()}/tether`,
      TETHER_ENCRYPTION_KEYS: `k:${Buffer.alloc(32, 1).toString('base64')}`,
    });
    const services = createServices(config, { logger: createLogger('silent', 'test') });
    const app = await createApi(config, services, {} as Client);
    try {
      const key = `tk_${'a'.repeat(12)}_${'b'.repeat(43)}`;
      for (const [method, url] of [
        ['GET', '/v1/connections'],
        ['DELETE', '/v1/connections/0d2c4a9e-1f7b-4c3d-8e5f-6a7b8c9d0e1f'],
      ] as const) {
        const res = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` } });
        expect(res.statusCode).toBe(503);
        expect(res.headers['retry-after']).toBe('2');
        expect(res.json()).toEqual({
          error: 'database_unavailable',
          message: 'the database is unavailable; retry later',
        });
      }
    } finally {
      await app.close();
      await services.close();
    }
  });

  test.each([
    [
      'Prisma: cannot reach the server',
      true,
      new Prisma.PrismaClientKnownRequestError("Can't reach database server", {
        code: 'P1001',
        clientVersion: 'x',
      }),
    ],
    [
      'Prisma: connection closed',
      true,
      new Prisma.PrismaClientKnownRequestError('Server has closed the connection.', {
        code: 'P1017',
        clientVersion: 'x',
      }),
    ],
    [
      'adapter: server shutting down (57P01)',
      true,
      Object.assign(new Error('terminating'), {
        name: 'DriverAdapterError',
        cause: { kind: 'postgres', originalCode: '57P01' },
      }),
    ],
    [
      'adapter: server starting up (57P03)',
      true,
      Object.assign(new Error('x'), { cause: { kind: 'postgres', originalCode: '57P03' } }),
    ],
    [
      'interactive transaction timed out on a saturated pool (P2028)',
      true,
      new Prisma.PrismaClientKnownRequestError(
        'Transaction API error: Transaction already closed: the timeout for this transaction was 5000 ms',
        { code: 'P2028', clientVersion: 'x' },
      ),
    ],
    ['node-postgres: connection terminated', true, new Error('Connection terminated unexpectedly')],
    ['socket refused', true, Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    [
      'unique violation',
      false,
      new Prisma.PrismaClientKnownRequestError('Unique constraint failed', {
        code: 'P2002',
        clientVersion: 'x',
      }),
    ],
    ['a bug', false, new TypeError("Cannot read properties of undefined (reading 'id')")],
  ])('isDatabaseUnavailable: %s → %s', (_name, expected, err) => {
    expect(isDatabaseUnavailable(err)).toBe(expected);
  });
});

describe('a rotation is pinned to its own staged credentials', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  test('credentials a newer rotation staged meanwhile end the older one as superseded, not as rejected', async () => {
    const { id } = await stack.link(demoLink(stack, 'invgate', 'demo-all-scopes.pinned'));
    await stack.waitForStatus(id, 'active');
    const activities = createActivities({ db: stack.db, secrets: stack.secrets, http: stack.http });
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    const run = <A, R>(fn: (input: A) => Promise<R>, input: A) => env.run(fn, input) as Promise<R>;
    const candidate = (rotationId: string) => ({ connectionId: id, slot: 'candidate' as const, rotationId });
    // Rotation r1 was accepted by the workflow, then r2 replaced its staged credentials (the API stages first).
    await stack.secrets.stageCandidate(id, 'r2', {
      clientId: 'demo-all-scopes.pinned-r2',
      clientSecret: 'demo-secret',
    });

    const superseded = expect.objectContaining({ type: FailureType.RotationSuperseded });
    await expect(run(activities.obtainToken, candidate('r1'))).rejects.toEqual(superseded);
    await expect(
      run(activities.verifyScopes, { ...candidate('r1'), mode: 'full' as const, grantedScopes: null }),
    ).rejects.toEqual(superseded);

    // r2's own steps work, and its token is kept beside r2's credentials.
    const token = await run(activities.obtainToken, candidate('r2'));
    expect(token.expiresAt).not.toBeNull();
    expect((await stack.secrets.readCandidate(id))?.accessToken).toBeTruthy();
    const verification = await run(activities.verifyScopes, {
      ...candidate('r2'),
      mode: 'full' as const,
      grantedScopes: token.grantedScopes,
    });
    expect(verification.missing).toEqual([]);
  });
});
