// Once per test run: one Temporal dev server (in memory, with the search attributes) and one
// workflow bundle, shared by every suite. Each suite brings its own database and task queue.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev/temporal-dev-server';
import { SEARCH_ATTRIBUTE_TYPES } from '../../workflows/search-attributes';
import { FAILURE_CONVERTER_PATH } from '../../platform/payload-codec';

declare global {
  var __TEMPORAL__: TemporalDevServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  const [server, bundle] = await Promise.all([
    startTemporalDevServer({ headless: true, searchAttributes: { ...SEARCH_ATTRIBUTE_TYPES } }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      failureConverterPath: FAILURE_CONVERTER_PATH,
      logger: quietLogger,
    }),
  ]);
  globalThis.__TEMPORAL__ = server;
  const bundlePath = path.join(tmpdir(), `tether-workflows-${process.pid}.js`);
  writeFileSync(bundlePath, bundle.code);
  process.env.TEST_TEMPORAL_ADDRESS = server.address;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
}

const noop = () => undefined;
const quietLogger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: console.warn,
  error: console.error,
  log: noop,
};
