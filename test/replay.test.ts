// Recorded histories of every lifecycle path (and of provisioning jobs and a lifecycle event) replay
// against today's workflow code: a change that
// would break running workflows (non-determinism) fails here. Record the paths a deliberate change
// adds, shipped with workflow versioning (patched()), with `npm run histories:record -- <scenario>`;
// histories older code recorded stay (`…-old-rule`: the same scenario before a patch) so they still
// replay.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { encryptedDataConverter } from '../platform/payload-codec';
import { testCodec } from './support/stack';

const dir = path.join(__dirname, 'fixtures', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

test('every lifecycle path has a recorded history', () => {
  expect(files.map((f) => f.replace(/\.json$/, '')).sort()).toEqual([
    'halo-scopes-rechecked',
    'invgate-bad-secret',
    'invgate-commands',
    'invgate-configuration-faults-in-maintenance',
    'invgate-continue-as-new-now',
    'invgate-degraded-then-reauth',
    'invgate-ensure-fresh-two-callers',
    'invgate-link-at-the-floor-budget-wait',
    'invgate-link-outage-then-failed',
    'invgate-missing-scopes',
    'invgate-refresh-at-the-floor',
    'invgate-refresh-cycles',
    'invgate-refresh-races',
    'invgate-refresh-races-old-rule',
    'invgate-refresh-rate-budget-wait',
    'invgate-wrong-url-then-relinked',
    'lifecycle-leaver-outage',
    'promapp-leaver-job-outage',
    'promapp-probes-and-expiry',
    'promapp-provisioning-job',
    'slack-install-rotation',
    'slack-job-rate-budget-wait',
  ]);
});

test.each(files)('%s replays deterministically', async (file) => {
  const history = historyFromJSON(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
  const code = readFileSync(process.env.TEST_WORKFLOW_BUNDLE!, 'utf8');
  await Worker.runReplayHistory(
    { workflowBundle: { code }, replayName: file, dataConverter: encryptedDataConverter(testCodec()) },
    history,
  );
});

test('the replay check fails for a change that would break running workflows', async () => {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./fixtures/broken-workflow'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  });
  const history = historyFromJSON(JSON.parse(readFileSync(path.join(dir, 'invgate-commands.json'), 'utf8')));
  await expect(
    Worker.runReplayHistory(
      { workflowBundle: { code }, dataConverter: encryptedDataConverter(testCodec()) },
      history,
    ),
  ).rejects.toThrow(DeterminismViolationError);
});
