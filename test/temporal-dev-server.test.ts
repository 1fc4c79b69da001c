// Starts the real `temporal server start-dev` (built by scripts/ensure-temporal.sh or TEMPORAL_CLI).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  ensureTemporalCli,
  startTemporalDevServer,
  type TemporalDevServer,
} from '../dev/temporal-dev-server';
import { eventually } from './support/eventually';

const NAMESPACE = 'tether-test';
const TASK_QUEUE = 'tether-test-no-worker'; // nobody polls it: the workflow just stays RUNNING
const TetherTestKey = defineSearchAttributeKey('TetherTestKey', SearchAttributeType.KEYWORD);

describe('startTemporalDevServer', () => {
  let cliPath: string;
  let dir: string;
  let dbFile: string;
  let server: TemporalDevServer | undefined;
  let connection: Connection | undefined;

  const start = async () => {
    server = await startTemporalDevServer({
      cliPath,
      dbFile,
      namespace: NAMESPACE,
      headless: true,
      searchAttributes: { TetherTestKey: 'Keyword' },
    });
    connection = await Connection.connect({ address: server.address });
    return new Client({ connection, namespace: server.namespace });
  };

  const stop = async () => {
    await connection?.close();
    connection = undefined;
    await server?.stop();
    server = undefined;
  };

  // Separate from start() so a first-time CLI build (minutes) gets its own, longer timeout.
  beforeAll(async () => {
    cliPath = await ensureTemporalCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'tether-devserver-'));
    dbFile = path.join(dir, 'temporal.sqlite');
  }, 15 * 60_000);

  afterAll(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the namespace and registers the search attribute', async () => {
    await start();
    const svc = connection!;
    const ns = await svc.workflowService.describeNamespace({ namespace: NAMESPACE });
    expect(ns.namespaceInfo?.name).toBe(NAMESPACE);

    const { customAttributes } = await svc.operatorService.listSearchAttributes({ namespace: NAMESPACE });
    expect(customAttributes).toHaveProperty('TetherTestKey');
  });

  it('keeps executions across a restart with the same dbFile', async () => {
    let client = connection ? new Client({ connection, namespace: NAMESPACE }) : await start();
    const workflowId = `tether-devserver-${Date.now()}`;
    await client.workflow.start('tetherNoopWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId,
      typedSearchAttributes: [{ key: TetherTestKey, value: workflowId }],
    });
    const firstPid = server!.pid;
    await stop();

    client = await start();
    // A new process: the workflow can only be there because the SQLite file kept it.
    expect(server!.pid).not.toBe(firstPid);
    const desc = await client.workflow.getHandle(workflowId).describe();
    expect(desc.status.name).toBe('RUNNING');
    expect(desc.taskQueue).toBe(TASK_QUEUE);
    expect(desc.typedSearchAttributes.get(TetherTestKey)).toBe(workflowId);

    // Visibility (the search attribute index) is persisted too; it is written asynchronously, so poll.
    const query = `TetherTestKey = "${workflowId}"`;
    const { count } = await eventually(
      () => client.workflow.count(query),
      (answer) => answer.count > 0,
      { what: 'the workflow in visibility', timeoutMs: 10_000, intervalMs: 200 },
    );
    expect(count).toBe(1);
  });
});
