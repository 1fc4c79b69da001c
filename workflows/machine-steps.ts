// What the connection machine can be asked to do (commands from the API) and what it tells the workflow
// to do next (steps), with the rules that pick a step: for a command taken from the queue, or for a timer
// that came due.
import type { InstallResult, MachineSnapshot } from '../domain/connection';
import type { MaintenancePolicy } from '../domain/policy';
import { WAITING_FOR_HUMAN } from './machine-state';
import { expiryWarningAt } from './schedule';

export type Command =
  | { kind: 'refresh'; ticket: number }
  | { kind: 'rotate'; ticket: number; rotationId: string }
  | { kind: 'pause'; ticket: number }
  | { kind: 'resume'; ticket: number }
  | { kind: 'revoke'; ticket: number }
  | { kind: 'install'; ticket: number; result: InstallResult };

export type Step =
  /**
   * Obtain a token and verify every required scope with probes: link, retry after a human acted, or
   * resume (`after: 'resume'`: the token may have expired and permissions changed while paused), or link
   * again after a failed link (`after: 'relink'`: a link that failed or found the configuration wrong).
   */
  | { kind: 'establish'; after?: 'resume' }
  | { kind: 'establish'; after: 'relink'; from: 'link_failed' | 'invalid_configuration' }
  /** Obtain a fresh token and compare granted with required scopes. */
  | { kind: 'refresh' }
  /** Cheap check of a token that never expires. */
  | { kind: 'probe' }
  | { kind: 'rotate'; ticket: number; rotationId: string }
  | { kind: 'pause' }
  | { kind: 'revoke' }
  /** Redeem an OAuth install's code and verify like a link, or record that the install was denied. */
  | { kind: 'install'; result: InstallResult }
  | { kind: 'warn_expiry' }
  | { kind: 'credential_expired' }
  | { kind: 'wait'; untilMs: number | null }
  | { kind: 'done' };

/** Steps whose outcome is a vendor's answer about the live credentials. */
export type VendorStep = Extract<Step, { kind: 'establish' | 'refresh' | 'probe' | 'install' }>;

/** The step a command asks for, or null when it has nothing to do (a resume of a connection not paused). */
export function stepForCommand(s: MachineSnapshot, command: Command): Step | null {
  switch (command.kind) {
    case 'refresh': {
      if (s.status === 'link_failed' || (s.status === 'invalid_configuration' && !s.configurationProven)) {
        // A link that never worked starts again from the beginning, reported as leaving the failed status.
        const from = s.status;
        s.status = 'linking';
        s.failures = 0;
        s.rejections = 0;
        s.failingSince = null;
        s.linkDelayAnnounced = false;
        return { kind: 'establish', after: 'relink', from };
      }
      return WAITING_FOR_HUMAN.includes(s.status) || s.status === 'linking'
        ? { kind: 'establish' }
        : { kind: 'refresh' };
    }
    case 'resume': {
      if (s.status !== 'paused') return null;
      // The status held before the pause comes back for the establish to work from, but only its
      // outcome is recorded, as one transition from `paused`: nobody sees `active` before it is verified.
      s.status = s.statusBeforePause ?? 'active';
      s.statusBeforePause = null;
      return { kind: 'establish', after: 'resume' };
    }
    case 'rotate':
      return { kind: 'rotate', ticket: command.ticket, rotationId: command.rotationId };
    case 'install':
      return { kind: 'install', result: command.result };
    case 'pause':
    case 'revoke':
      return { kind: command.kind };
  }
}

/** The check a timer that came due asks for. */
export function stepForTimer(s: MachineSnapshot, policy: MaintenancePolicy, now: number): Step {
  // A missing scope is checked again with a new token and every probe: a grant shows only in those.
  if (s.status === 'linking' || s.status === 'insufficient_scopes') return { kind: 'establish' };
  if (s.credentialExpiresAt !== null && now >= s.credentialExpiresAt) return { kind: 'credential_expired' };
  const warnAt = expiryWarningAt(s, policy);
  if (s.credentialExpiresAt !== null && !s.expiryWarned && now >= warnAt) return { kind: 'warn_expiry' };
  return s.tokenExpiresAt === null ? { kind: 'probe' } : { kind: 'refresh' };
}
