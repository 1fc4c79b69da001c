// Commands to a connection's workflow: refresh, pause, resume, rotate credentials, revoke. Each is a
// workflow update with a stable id (from the Idempotency-Key when sent), bounded in time, recorded in
// the audit trail with the API key that sent it; `?wait=<seconds>` answers with what it led to.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { getVendor } from '../../catalog';
import type { Connection } from '../../platform/db';
import {
  pauseUpdate,
  resumeUpdate,
  revokeUpdate,
  refreshNowUpdate,
  rotateCredentialsUpdate,
} from '../../workflows/messages';
import type { CommandAccepted } from '../../workflows/messages';
import type { CommandName } from '../../domain/audit-events';
import type { AppDeps } from '../app';
import { auditEventView } from '../audit-event-view';
import { readScope, requestActor } from '../auth';
import { outcomeOf, settled } from '../command-outcome';
import { commandUpdateId, isUnconfirmed, startCommand, type CommandSent } from '../commands';
import { connectionView } from '../connection-view';
import { ApiError, validationError } from '../errors';
import {
  CommandAnswerSchema,
  CommandQuerySchema,
  ErrorSchema,
  IdempotencyHeadersSchema,
  IdParamsSchema,
  MAX_COMMAND_WAIT_SECONDS,
  RotateCredentialsSchema,
  RotationResultSchema,
} from '../schemas';
import { temporalUiOf } from '../temporal-ui';
import type { TenantData } from '../tenant-data';

/** What a 202 after an expired wait tells the client to wait before it polls. */
const POLL_AFTER_SECONDS = 2;

const errors = { 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 503: ErrorSchema };

export const connectionCommandRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; data: TenantData }> = async (
  app,
  { deps, data },
) => {
  const { secrets } = deps;
  const ui = temporalUiOf(deps);

  /** Links to poll: the connection, and its trail from just before the command. */
  const linksFor = (connection: Connection, sentAfter: bigint) => {
    const self = `/v1/connections/${connection.id}`;
    return { self, events: `${self}/events?after=${data.audit.cursorAt(connection, sentAfter)}` };
  };

  /** Send the command and record who sent it: once it is accepted, or when it could not be confirmed. */
  async function deliver<Ret>(
    request: FastifyRequest,
    connection: Connection,
    command: CommandName,
    updateId: string,
    send: (onAccepted: () => Promise<void>) => Promise<CommandSent<Ret>>,
  ): Promise<CommandSent<Ret>> {
    const actor = requestActor(request);
    try {
      return await send(() =>
        data.audit.record(connection, {
          type: 'command_accepted',
          actor,
          detail: { command, updateId },
          // A retry that attached to the same update is recorded once.
          dedupeKey: `${connection.id}:${updateId}`,
        }),
      );
    } catch (err) {
      if (isUnconfirmed(err)) {
        await data.audit.record(connection, {
          type: 'command_unconfirmed',
          actor,
          detail: { command, updateId },
          dedupeKey: `${connection.id}:${updateId}:unconfirmed`,
        });
      }
      throw err;
    }
  }

  const command = (
    name: Extract<CommandName, 'refresh' | 'pause' | 'resume'>,
    summary: string,
    update: typeof refreshNowUpdate | typeof pauseUpdate | typeof resumeUpdate,
  ) =>
    app.post(
      `/connections/:id/${name}`,
      {
        schema: {
          tags: ['connections'],
          summary,
          params: IdParamsSchema,
          headers: IdempotencyHeadersSchema,
          querystring: CommandQuerySchema,
          response: { 200: CommandAnswerSchema, 202: CommandAnswerSchema, ...errors },
        },
      },
      async (request, reply) => {
        const connection = await data.connections.get(readScope(request), request.params.id);
        const updateId = commandUpdateId(deps, connection, name, request.headers['idempotency-key']);
        const sentAfter = await data.audit.lastEventId(connection);
        const sent = await deliver(request, connection, name, updateId, (onAccepted) =>
          startCommand(deps, connection, update, [], { updateId, onAccepted }),
        );
        const { code, headers, body } = await answer(
          connection,
          name,
          accepted(sent, connection),
          sentAfter,
          request.query.wait,
        );
        return reply.status(code).headers(headers).send(body);
      },
    );
  command(
    'refresh',
    'Refresh (or re-check) now; joins a refresh that has not called the vendor yet',
    refreshNowUpdate,
  );
  command('pause', 'Stop refreshing and checking until resumed', pauseUpdate);
  command('resume', 'Resume: re-verifies at once, then maintains again', resumeUpdate);

  app.delete(
    '/connections/:id',
    {
      schema: {
        tags: ['connections'],
        summary: 'Revoke: at the vendor where supported, then wipe the secrets',
        params: IdParamsSchema,
        headers: IdempotencyHeadersSchema,
        querystring: CommandQuerySchema,
        response: { 200: CommandAnswerSchema, 202: CommandAnswerSchema, ...errors },
      },
    },
    async (request, reply) => {
      const connection = await data.connections.get(readScope(request), request.params.id);
      const sentAfter = await data.audit.lastEventId(connection);
      if (connection.status === 'revoked') {
        const done = { status: connection.status, coalesced: true };
        const { code, headers, body } = await answer(
          connection,
          'revoke',
          done,
          sentAfter,
          request.query.wait,
        );
        return reply.status(code).headers(headers).send(body);
      }
      const updateId = commandUpdateId(deps, connection, 'revoke', request.headers['idempotency-key']);
      const sent = await deliver(request, connection, 'revoke', updateId, (onAccepted) =>
        startCommand(deps, connection, revokeUpdate, [], { updateId, onAccepted }),
      );
      const { code, headers, body } = await answer(
        connection,
        'revoke',
        accepted(sent, connection),
        sentAfter,
        request.query.wait,
      );
      return reply.status(code).headers(headers).send(body);
    },
  );

  /** 200 with what the command led to when it came within `wait` seconds; else 202 with links to poll. */
  async function answer(
    connection: Connection,
    name: Exclude<CommandName, 'rotate' | 'install'>,
    { status, coalesced }: CommandAccepted,
    sentAfter: bigint,
    wait: number | undefined,
  ): Promise<{
    code: 200 | 202;
    headers: Record<string, string>;
    body: z.output<typeof CommandAnswerSchema>;
  }> {
    const links = linksFor(connection, sentAfter);
    const base = { id: connection.id, command: name, status, coalesced, links };
    if (wait && (await settled(deps, data, connection, name, Date.now() + wait * 1000))) {
      const { outcome, events } = await outcomeOf(data, connection, sentAfter);
      return {
        code: 200,
        headers: {},
        body: { ...base, completed: true, outcome, events: events.map(auditEventView) },
      };
    }
    return {
      code: 202,
      headers: { location: links.self, ...(wait ? { 'retry-after': String(POLL_AFTER_SECONDS) } : {}) },
      body: { ...base, completed: false, outcome: null, events: [] },
    };
  }

  app.put(
    '/connections/:id/credentials',
    {
      schema: {
        tags: ['connections'],
        summary:
          'Rotate credentials: the new ones are verified before they replace the old ones (waits for the outcome, 30 s by default)',
        params: IdParamsSchema,
        headers: IdempotencyHeadersSchema,
        querystring: CommandQuerySchema,
        body: RotateCredentialsSchema,
        response: {
          200: RotationResultSchema,
          202: RotationResultSchema,
          422: RotationResultSchema,
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const connection = await data.connections.get(readScope(request), request.params.id);
      const parsed = getVendor(connection.vendor).credentials.safeParse(request.body.credentials);
      if (!parsed.success) {
        throw validationError(
          parsed.error.issues.map((i) => ({
            field: ['body', 'credentials', ...i.path.map(String)].join('.'),
            message: i.message,
          })),
        );
      }
      if (connection.status === 'revoked' || connection.status === 'revoking') {
        throw new ApiError(409, 'conflict', `connection is ${connection.status}`);
      }
      // Under one Idempotency-Key, the same new credentials are the same rotation; other ones a new one.
      const updateId = commandUpdateId(
        deps,
        connection,
        'rotate',
        request.headers['idempotency-key'],
        secrets.fingerprint(parsed.data),
      );
      // The candidate is staged under the update's id, so a retry finds the one its update will verify.
      const rotationId = updateId;
      if ((await secrets.readCandidate(connection.id))?.rotationId !== rotationId) {
        await secrets.stageCandidate(connection.id, rotationId, parsed.data);
      }
      const sentAfter = await data.audit.lastEventId(connection);
      let sent;
      try {
        sent = await deliver(request, connection, 'rotate', updateId, (onAccepted) =>
          startCommand(deps, connection, rotateCredentialsUpdate, [{ rotationId }], {
            updateId,
            onAccepted,
            resultWaitMs: (request.query.wait ?? MAX_COMMAND_WAIT_SECONDS) * 1000,
          }),
        );
      } catch (err) {
        // Refused: nothing will verify the candidate. Unconfirmed or unavailable: the update may still run
        // and needs it (a retry with the same Idempotency-Key attaches to that update).
        if (err instanceof ApiError && err.statusCode === 409) {
          await secrets.discardCandidate(connection.id, rotationId);
        }
        throw err;
      }
      const links = linksFor(connection, sentAfter);
      const fresh = connectionView(await data.connections.get(connection.tenantId, connection.id), ui);
      if (!sent.completed) {
        return reply
          .status(202)
          .header('location', links.self)
          .header('retry-after', String(POLL_AFTER_SECONDS))
          .send({ outcome: 'pending' as const, connection: fresh, links });
      }
      // The rotation is over, so its candidate is gone, unless this request staged it again for a rotation
      // that had already finished (a late retry): that copy goes.
      await secrets.discardCandidate(connection.id, rotationId);
      const result = sent.result;
      return reply.status(result.outcome === 'accepted' ? 200 : 422).send({
        ...(result.outcome === 'accepted'
          ? { outcome: 'accepted' as const }
          : {
              outcome: 'rejected' as const,
              reason: result.reason,
              message: result.message,
              missingScopes: result.missingScopes,
            }),
        connection: fresh,
        links,
      });
    },
  );
};

/** The workflow's answer; for a command it accepted without answering in time, what is known. */
function accepted(sent: CommandSent<CommandAccepted>, connection: Connection): CommandAccepted {
  return sent.completed ? sent.result : { status: connection.status, coalesced: false };
}
