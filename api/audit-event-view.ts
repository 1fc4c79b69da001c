// What the API shows of an audit event: the row, with its actor named (never a secret: the API key's
// id and name, not the key).
import type { z } from 'zod';
import type { AuditEvent } from '../platform/db';
import { CONNECT_SESSION_ACTOR } from '../domain/audit-events';
import type { ActorSchema, AuditEventSchema } from './schemas';

export function auditEventView(e: AuditEvent): z.output<typeof AuditEventSchema> {
  return {
    id: e.id.toString(),
    type: e.type,
    fromStatus: e.fromStatus,
    toStatus: e.toStatus,
    actor: actorView(e),
    detail: (e.detail ?? {}) as Record<string, unknown>,
    createdAt: e.createdAt.toISOString(),
  };
}

function actorView(e: AuditEvent): z.output<typeof ActorSchema> {
  switch (e.actor) {
    case 'api':
      return { kind: 'api', keyId: e.actorId, label: e.actorLabel };
    case CONNECT_SESSION_ACTOR: {
      // Events written before the session was named in actorId carry it in their detail.
      const fromDetail = (e.detail as { connectSessionId?: unknown } | null)?.connectSessionId;
      return {
        kind: 'connect_session',
        sessionId: e.actorId ?? (typeof fromDetail === 'string' ? fromDetail : null),
      };
    }
    case 'workflow':
      return { kind: e.actor };
    default:
      // `operator`, and any other writer outside the service, is named by what it ran.
      return { kind: 'operator', command: e.actorId ?? e.actor };
  }
}
