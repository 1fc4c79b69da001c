// One workflow per connection (id `connection:<connectionId>`): link → verify → maintain → revoke.
// Message handlers only queue commands; one loop runs them and the timers in order, so the state
// machine (connection-machine.ts) never sees two steps at once.
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ConnectionActivities } from '../activities';
import { ConnectionMachine, type Step, type StepFailure, type StepOutcome } from './connection-machine';
import { type Transition } from '../domain/transition';
import {
  completeInstallUpdate,
  ensureFreshTokenUpdate,
  pauseUpdate,
  refreshNowUpdate,
  resumeUpdate,
  revokeUpdate,
  rotateCredentialsUpdate,
  statusQuery,
} from './messages';
import { STATUS, TENANT, VENDOR } from './search-attributes';
import { webhookDelivery } from './webhook-delivery';
import { DEFAULT_POLICY } from '../domain/policy';
import { FailureType, PERMANENT_FAILURES } from '../domain/failures';
import { type ConnectionLifecycleInput, type ConnectionLifecycleResult } from './types';
import { type RotationOutcome, type ScopeVerification, type TokenInfo } from '../domain/connection';

/**
 * Workflow versioning (patched()): since this change the token activity also verifies the scopes, one
 * activity per link or refresh instead of obtainToken + verifyScopes. Histories recorded before it replay
 * the two-activity path.
 */
const VERIFY_WITH_TOKEN = 'verify-scopes-with-the-new-token';

// Calls to the vendor: a few quick retries inside the activity for blips; longer outages are the
// machine's business (degraded + backoff), so a command such as revoke never waits behind them.
// Every activity heartbeats while it runs (worker/heartbeat.ts): a crashed worker's attempt is retried
// after heartbeatTimeout rather than after the whole start-to-close timeout.
const vendor = proxyActivities<ConnectionActivities>({
  startToCloseTimeout: '45s',
  heartbeatTimeout: '10s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '20s',
    maximumAttempts: 4,
    nonRetryableErrorTypes: PERMANENT_FAILURES,
  },
});

// Bookkeeping in our own database must eventually succeed: never drop a transition.
const store = proxyActivities<ConnectionActivities>({
  startToCloseTimeout: '20s',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

export async function connectionLifecycle(
  input: ConnectionLifecycleInput,
): Promise<ConnectionLifecycleResult> {
  const { connectionId, tenantId } = input;
  const policy = { ...DEFAULT_POLICY, ...input.policy };
  const machine = new ConnectionMachine(policy, Math.random, input.carriedState, {
    awaitInstall: input.awaitInstall,
  });
  let vendorRevocation: ConnectionLifecycleResult['vendorRevocation'];

  const refuseIf =
    (kind: Parameters<ConnectionMachine['refuse']>[0]) =>
    (..._args: unknown[]) => {
      const why = machine.refuse(kind);
      if (why) throw new Error(why);
    };

  setHandler(statusQuery, () => machine.view(connectionId, input.vendor));
  setHandler(
    refreshNowUpdate,
    () => ({ status: machine.status, coalesced: machine.enqueue({ kind: 'refresh' }).coalesced }),
    { validator: refuseIf('refresh') },
  );
  setHandler(pauseUpdate, () => ({ status: machine.status, ...machine.enqueue({ kind: 'pause' }) }), {
    validator: refuseIf('pause'),
  });
  setHandler(resumeUpdate, () => ({ status: machine.status, ...machine.enqueue({ kind: 'resume' }) }), {
    validator: refuseIf('resume'),
  });
  setHandler(revokeUpdate, () => ({ status: machine.status, ...machine.enqueue({ kind: 'revoke' }) }), {
    validator: refuseIf('revoke'),
  });
  setHandler(
    completeInstallUpdate,
    (result) => ({ status: machine.status, ...machine.enqueue({ kind: 'install', result }) }),
    { validator: refuseIf('install') },
  );
  setHandler(
    rotateCredentialsUpdate,
    async ({ rotationId }) => {
      const { ticket } = machine.enqueue({ kind: 'rotate', rotationId });
      let outcome: RotationOutcome | undefined;
      await condition(() => (outcome = machine.takeRotationOutcome(ticket)) !== undefined);
      return outcome!;
    },
    { validator: refuseIf('rotate') },
  );
  setHandler(
    ensureFreshTokenUpdate,
    async ({ minValidityMs }) => {
      const expiresAt = machine.snapshot().tokenExpiresAt;
      if (expiresAt !== null && expiresAt - Date.now() < minValidityMs) {
        machine.enqueue({ kind: 'refresh' });
        await condition(() => !machine.refreshInFlight());
      }
      return { status: machine.status, tokenExpiresAt: machine.snapshot().tokenExpiresAt };
    },
    { validator: refuseIf('refresh') },
  );

  const record = async (transition: Transition | null) => {
    if (!transition) return;
    const recorded = await store.recordTransition({ connectionId, tenantId, transition });
    upsertSearchAttributes([{ key: STATUS, value: transition.to }]);
    // Each delivery is its own workflow, abandoned by this one: it outlives revocation and
    // continueAsNew, and its retries never hold up the connection's own steps.
    for (const deliveryId of recorded?.deliveries ?? []) {
      await startChild(webhookDelivery, {
        workflowId: `webhook:${deliveryId}`,
        args: [{ deliveryId, retry: policy.webhookRetry }],
        parentClosePolicy: 'ABANDON',
      });
    }
  };

  upsertSearchAttributes([
    { key: VENDOR, value: input.vendor },
    { key: TENANT, value: tenantId },
    { key: STATUS, value: machine.status },
  ]);

  let steps = 0;
  for (;;) {
    const step = machine.nextStep(Date.now());
    if (step.kind === 'done') break;
    if (step.kind === 'wait') {
      // History stays bounded: hand the state to a fresh run between steps, never mid-command.
      if (workflowInfo().continueAsNewSuggested || steps >= policy.maxStepsPerRun) {
        await condition(allHandlersFinished);
        if (!machine.hasQueuedCommands()) {
          return continueAsNew<typeof connectionLifecycle>({ ...input, carriedState: machine.snapshot() });
        }
        continue;
      }
      if (step.untilMs === null) await condition(() => machine.hasQueuedCommands());
      else await condition(() => machine.hasQueuedCommands(), Math.max(step.untilMs - Date.now(), 1));
      continue;
    }
    await runStep(step);
    machine.finish();
    steps += 1;
  }
  await condition(allHandlersFinished);
  return { connectionId, status: machine.status, vendorRevocation };

  async function runStep(step: Step): Promise<void> {
    switch (step.kind) {
      case 'establish':
      case 'refresh': {
        const outcome = await obtainAndVerify('live', step.kind === 'establish' ? 'full' : 'claims');
        await record(machine.onVendorStep(step, outcome, Date.now()));
        return;
      }
      case 'install': {
        const { result } = step;
        if ('denied' in result) {
          await record(machine.onInstallDenied(result.denied, Date.now()));
          return;
        }
        const outcome = await verified(
          () => vendor.completeInstall({ connectionId, installId: result.installId }),
          'live',
          'full',
        );
        await record(machine.onInstall(step, outcome, Date.now()));
        return;
      }
      case 'probe': {
        let outcome: StepOutcome = { kind: 'ok' };
        try {
          await vendor.probeHealth({ connectionId });
        } catch (err) {
          outcome = classify(err);
        }
        await record(machine.onVendorStep(step, outcome, Date.now()));
        return;
      }
      case 'rotate': {
        const { outcome, token } = await rotate(step.rotationId);
        await record(machine.onRotation(step, outcome, token, Date.now()));
        // Answer the caller only now, so what it reads next already shows the rotation.
        machine.settleRotation(step.ticket, outcome);
        return;
      }
      case 'pause':
        await record(machine.onPause(Date.now()));
        return;
      case 'resume':
        if (machine.onResume()) await runStep({ kind: 'establish' });
        return;
      case 'warn_expiry':
        await record(machine.onWarnExpiry(Date.now()));
        return;
      case 'credential_expired':
        await record(machine.onCredentialExpired(Date.now()));
        return;
      case 'revoke': {
        await record(machine.onRevokeStarted(Date.now()));
        // A vendor that will not answer must not keep secrets alive: record the failure and wipe.
        vendorRevocation = await vendor.revokeAtVendor({ connectionId }).then(
          (r) => r.outcome,
          () => 'failed' as const,
        );
        await store.wipeSecrets({ connectionId });
        await record(machine.onRevoked(vendorRevocation, Date.now()));
        return;
      }
    }
  }

  /** A candidate is pinned to its rotation: credentials a newer rotation staged meanwhile are not tried. */
  function obtainAndVerify(
    slot: 'live' | 'candidate',
    mode: 'full' | 'claims',
    rotationId?: string,
  ): Promise<StepOutcome> {
    const of = rotationId === undefined ? { connectionId, slot } : { connectionId, slot, rotationId };
    const verify = patched(VERIFY_WITH_TOKEN) ? { verify: mode } : {};
    return verified(() => vendor.obtainToken({ ...of, ...verify }), slot, mode, rotationId);
  }

  /** Get a token (grant, refresh or install), then check its scopes unless the token activity already did. */
  async function verified(
    obtain: () => Promise<TokenInfo & { verification?: ScopeVerification }>,
    slot: 'live' | 'candidate',
    mode: 'full' | 'claims',
    rotationId?: string,
  ): Promise<StepOutcome> {
    let token: TokenInfo | undefined;
    try {
      const { verification: checked, ...obtained } = await obtain();
      token = obtained;
      const verification =
        checked ??
        (await vendor.verifyScopes({
          connectionId,
          slot,
          ...(rotationId === undefined ? {} : { rotationId }),
          mode,
          grantedScopes: token.grantedScopes,
        }));
      return verification.missing.length > 0
        ? { kind: 'insufficient_scopes', token, verification }
        : { kind: 'ok', token, verification };
    } catch (err) {
      const failure = classify(err);
      // The token just obtained expired before its scopes could be checked (a slow or restarted worker
      // between the two activities): that says nothing about the credentials. Try again with a new one.
      if (failure.kind === 'rejected' && token?.expiresAt != null && Date.now() >= token.expiresAt) {
        return {
          kind: 'unavailable',
          message: `the new token expired before its scopes were verified: ${failure.message}`,
        };
      }
      return failure;
    }
  }

  async function rotate(rotationId: string): Promise<{ outcome: RotationOutcome; token: TokenInfo | null }> {
    const result = await obtainAndVerify('candidate', 'full', rotationId);
    if (result.kind === 'ok' && (await store.promoteCandidate({ connectionId, rotationId }))) {
      return {
        outcome: { outcome: 'accepted', grantedScopes: result.verification?.granted ?? [] },
        token: result.token ?? null,
      };
    }
    await store.discardCandidate({ connectionId, rotationId });
    const rejected = (
      reason: Extract<RotationOutcome, { outcome: 'rejected' }>['reason'],
      message: string,
    ) => ({
      outcome: {
        outcome: 'rejected' as const,
        reason,
        message,
        missingScopes: result.kind === 'insufficient_scopes' ? result.verification.missing : [],
      },
      token: null,
    });
    switch (result.kind) {
      case 'ok':
        return rejected('superseded', 'a newer rotation replaced these credentials');
      case 'insufficient_scopes':
        return rejected('insufficient_scopes', 'the new credentials lack required scopes');
      case 'rejected':
        return rejected(result.superseded ? 'superseded' : 'invalid_credentials', result.message);
      case 'unavailable':
        return rejected('vendor_unavailable', result.message);
    }
  }
}

/** Turn an activity failure into the machine's vocabulary. */
function classify(err: unknown): StepFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    switch (cause.type) {
      case FailureType.InvalidCredentials:
      case FailureType.TokenRejected:
        return { kind: 'rejected', reason: 'credentials_rejected', message: cause.message };
      case FailureType.InvalidConfiguration:
        return { kind: 'rejected', reason: 'invalid_configuration', message: cause.message };
      case FailureType.RotationSuperseded:
        return { kind: 'rejected', reason: 'credentials_rejected', message: cause.message, superseded: true };
      case FailureType.ReauthRequired:
        return { kind: 'rejected', reason: 'credentials_rejected', message: cause.message, final: true };
      case FailureType.RateLimited: {
        const details = cause.details?.[0] as { retryAfterMs?: number } | undefined;
        return { kind: 'unavailable', message: cause.message, retryAfterMs: details?.retryAfterMs };
      }
    }
    return { kind: 'unavailable', message: cause.message };
  }
  // Timeouts and other failures: treat as the vendor being unreachable.
  return { kind: 'unavailable', message: (cause as Error | undefined)?.message ?? 'activity failed' };
}
