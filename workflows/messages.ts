// Messages of the connectionLifecycle workflow, shared by the workflow and the API.
// Commands are updates rather than signals: the caller learns at once whether the command was
// accepted (a validator rejects e.g. refreshing a revoked connection) and, for rotation, the outcome.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ConnectionStatus, ConnectionView, InstallResult, RotationOutcome } from '../domain/connection';

export interface CommandAccepted {
  status: ConnectionStatus;
  /** True when an equal command was already queued or running and this one joined it. */
  coalesced: boolean;
}

/** Re-grant (or re-probe) now. Returns once queued; the outcome shows in the connection's status. */
export const refreshNowUpdate = defineUpdate<CommandAccepted>('refreshNow');

/**
 * Replace the credentials with the candidate the API staged under `rotationId`. Waits for the
 * outcome because the caller must know: a rejected candidate leaves everything as it was.
 */
export const rotateCredentialsUpdate = defineUpdate<RotationOutcome, [{ rotationId: string }]>(
  'rotateCredentials',
);

export const pauseUpdate = defineUpdate<CommandAccepted>('pause');
export const resumeUpdate = defineUpdate<CommandAccepted>('resume');

/** Revoke at the vendor where supported, wipe the secrets, end the workflow. Returns once queued. */
export const revokeUpdate = defineUpdate<CommandAccepted>('revoke');

/**
 * For provisioning work: make sure the stored token stays valid for at least `minValidityMs`,
 * refreshing first if needed. Waits, so the caller can then read a token it knows is fresh.
 */
export const ensureFreshTokenUpdate = defineUpdate<
  { status: ConnectionStatus; tokenExpiresAt: number | null },
  [{ minValidityMs: number }]
>('ensureFreshToken');

/**
 * The customer came back from the vendor's consent page (OAuth install): redeem the code stored under
 * `installId`, or record that the install was denied. Returns once queued; the outcome shows in the status.
 */
export const completeInstallUpdate = defineUpdate<CommandAccepted, [InstallResult]>('completeInstall');

export const statusQuery = defineQuery<ConnectionView>('status');

/**
 * Operators: hand the state to a fresh run at the next pause between steps, so the history is written
 * anew under the active encryption key (npm run keys:workflows). Answers with the run that will end.
 */
export const continueAsNewNowUpdate = defineUpdate<{ runId: string }>('continueAsNewNow');
