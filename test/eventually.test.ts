// The tests' waiting helper: returns the first value that satisfies the check, and fails with the
// last value it saw when the deadline passes.
import { eventually } from './support/eventually';

test('returns the first value the check accepts', async () => {
  let reads = 0;
  const value = await eventually(
    () => ++reads,
    (n) => n >= 3,
    { intervalMs: 1 },
  );
  expect(value).toBe(3);
  expect(reads).toBe(3);
});

test('without a check, waits for a truthy value', async () => {
  const answers = [0, '', 'ready'];
  expect(await eventually(() => answers.shift(), undefined, { intervalMs: 1 })).toBe('ready');
});

test('fails after the deadline, naming what was awaited and the last value', async () => {
  const started = Date.now();
  await expect(
    eventually(
      async () => ({ status: 'linking' }),
      (c) => c.status === 'active',
      { what: 'connection active', timeoutMs: 200, intervalMs: 20 },
    ),
  ).rejects.toThrow('connection active: not met within 200 ms; last value: {"status":"linking"}');
  expect(Date.now() - started).toBeGreaterThanOrEqual(200);
});

test('an error from the read ends the wait at once', async () => {
  let reads = 0;
  await expect(
    eventually(
      () => {
        reads++;
        throw new Error('no such connection');
      },
      undefined,
      { timeoutMs: 5_000 },
    ),
  ).rejects.toThrow('no such connection');
  expect(reads).toBe(1);
});
