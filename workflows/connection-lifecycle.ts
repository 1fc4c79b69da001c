// One workflow per connection (id `connection:<connectionId>`): link → verify → maintain → revoke.
// Message handlers only queue commands; one loop runs them and the timers in order, so the state
// machine (connection-machine.ts) never sees two steps at once. What a step's outcome means is the
// machine's business; this file only calls activities and records what the machine decided.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { store, vendor } from './activity-proxies';
import { ConnectionMachine } from './connection-machine';
import type { Command, Step } from './machine-steps';
import { showSnapshot } from './current-details';
import * as messages from './messages';
import {
  CONFIGURATION_FAULTS_BY_PHASE,
  ENSURE_FRESH_WAITS_FOR_REFRESH_IN_FLIGHT,
  LINK_DEADLINE,
  REFRESH_AT_THE_FLOOR,
  REFRESH_JOINS_ONLY_UNSTARTED,
  SCOPES_RECHECKED,
} from './patches';
import { persistTransition } from './persist-transition';
import { STATUS, TENANT, VENDOR } from './search-attributes';
import { obtainAndVerify, obtainedLocally, probed, verified } from './token-step';
import { DEFAULT_POLICY } from '../domain/policy';
import type { RotationOutcome } from '../domain/connection';
import type { Transition } from '../domain/transition';
import type { ConnectionLifecycleInput, ConnectionLifecycleResult } from './types';

export async function connectionLifecycle(
  input: ConnectionLifecycleInput,
): Promise<ConnectionLifecycleResult> {
  const { connectionId, tenantId } = input;
  const policy = { ...DEFAULT_POLICY, ...input.policy };
  const machine = new ConnectionMachine(policy, Math.random, input.carriedState, {
    awaitInstall: input.awaitInstall,
    joinsRunningRefresh: () => !patched(REFRESH_JOINS_ONLY_UNSTARTED),
    configurationFaultsRefuse: () => !patched(CONFIGURATION_FAULTS_BY_PHASE),
    linksWaitForever: () => !patched(LINK_DEADLINE),
    scopesWaitForHuman: () => !patched(SCOPES_RECHECKED),
  });
  // An operator's request to start a fresh run now (workflow-keys: move the history onto the active key).
  let continueAsNewRequested = false;
  let vendorRevocation: ConnectionLifecycleResult['vendorRevocation'];
  // The status the search attribute holds: since REFRESH_AT_THE_FLOOR upserted only when it changes.
  const statusShown = { value: machine.status };
  const atTheFloor = () => patched(REFRESH_AT_THE_FLOOR);
  const record = (t: Transition | null, { local = false } = {}) =>
    persistTransition({ connectionId, tenantId, webhookRetry: policy.webhookRetry }, t, {
      local,
      ...(atTheFloor() ? { statusShown } : {}),
    });

  // Validators reject a command the state forbids; the caller gets the reason (a 409 from the API).
  const validator =
    (kind: Command['kind']) =>
    (..._args: unknown[]) => {
      const why = machine.refuse(kind);
      if (why) throw new Error(why);
    };
  const accept = (command: Parameters<ConnectionMachine['enqueue']>[0]) => ({
    status: machine.status,
    coalesced: machine.enqueue(command).coalesced,
  });
  setHandler(messages.statusQuery, () => machine.view(connectionId, input.vendor));
  setHandler(messages.continueAsNewNowUpdate, () => {
    continueAsNewRequested = true;
    return { runId: workflowInfo().runId };
  });
  const commands = [
    [messages.refreshNowUpdate, 'refresh'],
    [messages.pauseUpdate, 'pause'],
    [messages.resumeUpdate, 'resume'],
    [messages.revokeUpdate, 'revoke'],
  ] as const;
  for (const [update, kind] of commands)
    setHandler(update, () => accept({ kind }), { validator: validator(kind) });
  setHandler(messages.completeInstallUpdate, (result) => accept({ kind: 'install', result }), {
    validator: validator('install'),
  });
  setHandler(
    messages.rotateCredentialsUpdate,
    async ({ rotationId }) => {
      const { ticket } = machine.enqueue({ kind: 'rotate', rotationId });
      let outcome: RotationOutcome | undefined;
      await condition(() => (outcome = machine.takeRotationOutcome(ticket)) !== undefined);
      return outcome!;
    },
    { validator: validator('rotate') },
  );
  setHandler(
    messages.ensureFreshTokenUpdate,
    async ({ minValidityMs }) => {
      if (patched(ENSURE_FRESH_WAITS_FOR_REFRESH_IN_FLIGHT))
        await condition(() => !machine.refreshInFlight());
      const expiresAt = machine.snapshot().tokenExpiresAt;
      if (expiresAt !== null && expiresAt - Date.now() < minValidityMs) {
        machine.enqueue({ kind: 'refresh' });
        await condition(() => !machine.refreshInFlight());
      }
      return { status: machine.status, tokenExpiresAt: machine.snapshot().tokenExpiresAt };
    },
    { validator: validator('refresh') },
  );

  upsertSearchAttributes([
    { key: VENDOR, value: input.vendor },
    { key: TENANT, value: tenantId },
    { key: STATUS, value: machine.status },
  ]);
  // A new run (first or after continue-as-new) shows its state in the UI before its first transition.
  showSnapshot(machine.snapshot());

  for (;;) {
    const step = machine.nextStep(Date.now());
    if (step.kind === 'done') break;
    if (step.kind === 'wait') {
      // History stays bounded: hand the state to a fresh run between steps, never mid-command.
      if (workflowInfo().continueAsNewSuggested || machine.runIsFull() || continueAsNewRequested) {
        await condition(allHandlersFinished);
        if (!machine.hasQueuedCommands()) {
          return continueAsNew<typeof connectionLifecycle>({ ...input, carriedState: machine.snapshot() });
        }
        continue;
      }
      const woken = () => machine.hasQueuedCommands() || continueAsNewRequested;
      if (step.untilMs === null) await condition(woken);
      else await condition(woken, Math.max(step.untilMs - Date.now(), 1));
      continue;
    }
    await runStep(step);
    machine.finish();
  }
  await condition(allHandlersFinished);
  return { connectionId, status: machine.status, vendorRevocation };

  async function runStep(step: Exclude<Step, { kind: 'wait' | 'done' }>): Promise<void> {
    switch (step.kind) {
      case 'establish':
      case 'refresh': {
        const live = { connectionId, slot: 'live' } as const;
        const mode = step.kind === 'establish' ? 'full' : 'claims';
        // At the floor: a step its timer began runs whole in that workflow task (token-step.ts). A command's
        // step has a caller waiting on its update, and more commands may follow: it keeps regular
        // activities, so the workflow task is never held while they arrive.
        if (!machine.runsCommand() && atTheFloor()) {
          const outcome = await obtainedLocally(live, mode);
          return record(machine.onVendorStep(step, outcome, Date.now()), { local: true });
        }
        const outcome = await obtainAndVerify(live, mode);
        return record(machine.onVendorStep(step, outcome, Date.now()));
      }
      case 'install': {
        const { result } = step;
        if ('denied' in result) return record(machine.onInstallDenied(result.denied));
        const install = () => vendor.completeInstall({ connectionId, installId: result.installId });
        const outcome = await verified(install, { connectionId, slot: 'live' }, 'full');
        return record(machine.onInstall(step, outcome, Date.now()));
      }
      case 'probe': {
        return record(machine.onVendorStep(step, await probed(connectionId), Date.now()));
      }
      case 'rotate': {
        const of = { connectionId, rotationId: step.rotationId };
        const candidate = await obtainAndVerify({ ...of, slot: 'candidate' }, 'full');
        const promoted = candidate.kind === 'ok' && (await store.promoteCandidate(of));
        if (!promoted) await store.discardCandidate(of);
        const { transition, outcome } = machine.onRotation(candidate, promoted, Date.now());
        await record(transition);
        // Answer the caller only now, so what it reads next already shows the rotation.
        machine.settleRotation(step.ticket, outcome);
        return;
      }
      case 'pause':
        return record(machine.onPause());
      case 'warn_expiry':
        return record(machine.onWarnExpiry(Date.now()));
      case 'credential_expired':
        return record(machine.onCredentialExpired());
      case 'revoke': {
        await record(machine.onRevokeStarted());
        // A vendor that will not answer must not keep secrets alive: record the failure and wipe.
        vendorRevocation = await vendor.revokeAtVendor({ connectionId }).then(
          (r) => r.outcome,
          () => 'failed' as const,
        );
        await store.wipeSecrets({ connectionId });
        return record(machine.onRevoked(vendorRevocation));
      }
    }
  }
}
