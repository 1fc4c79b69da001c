// Connections: rows are read and written through api/tenant-data; commands go to the connection's
// workflow as updates.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isDeepStrictEqual } from 'node:util';
import { getVendor, type VendorDefinition } from '../../catalog';
import { normaliseInstanceUrl } from '../../vendor-kit/instance-url';
import {
  pauseUpdate,
  resumeUpdate,
  revokeUpdate,
  refreshNowUpdate,
  rotateCredentialsUpdate,
} from '../../workflows/messages';
import type { AppDeps } from '../app';
import { sendCommand, startLifecycle } from '../commands';
import { connectionView } from '../connection-view';
import { readScope, writeTenant } from '../auth';
import type { TenantData } from '../tenant-data';
import { ApiError, validationError } from '../errors';
import {
  AuditEventSchema,
  CommandAcceptedSchema,
  ConnectionListSchema,
  ConnectionSchema,
  CreateConnectionSchema,
  ErrorSchema,
  IdParamsSchema,
  ListQuerySchema,
  RotateCredentialsSchema,
  RotationResultSchema,
  UpdateConnectionResultSchema,
  UpdateConnectionSchema,
} from '../schemas';

const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .optional(),
});

const errors = { 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 503: ErrorSchema };

export const connectionRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; data: TenantData }> = async (
  app,
  { deps, data },
) => {
  const { secrets } = deps;
  const { connections } = data;

  app.post(
    '/connections',
    {
      schema: {
        tags: ['connections'],
        summary: 'Link a vendor account: validates, stores the credentials encrypted, starts the lifecycle',
        headers: IdempotencyHeaders,
        body: CreateConnectionSchema,
        response: { 202: ConnectionSchema, ...errors },
      },
    },
    async (request, reply) => {
      const tenantId = writeTenant(request);
      const body = request.body;
      const vendor = getVendor(body.vendor);
      const rawUrl =
        body.instanceUrl ??
        vendor.hooks?.defaultInstanceUrl?.(body.settings ?? {}) ??
        vendor.instanceUrl.default!;
      const checked = normaliseInstanceUrl(vendor, rawUrl, deps.urlPolicy);
      if ('error' in checked) throw validationError([{ field: 'body.instanceUrl', message: checked.error }]);

      const key = request.headers['idempotency-key'];
      if (key) {
        const replay = await replayIdempotent(tenantId, key, body);
        if (replay) return reply.status(202).send(replay);
      }

      const id = randomUUID();
      const connection = await connections.create({
        id,
        tenantId,
        vendor: vendor.id,
        instanceUrl: checked.url,
        name: body.name ?? null,
        tags: body.tags ?? {},
        settings: body.settings ?? {},
        sealedCredentials: secrets.sealCredentials(id, body.credentials),
        ...(key ? { idempotency: { key, requestHash: secrets.fingerprint(body) } } : {}),
      });
      if (!connection) {
        // Two requests raced with the same key: the loser answers like a replay.
        const replay = await replayIdempotent(tenantId, key!, body);
        if (replay) return reply.status(202).send(replay);
        throw new ApiError(409, 'conflict', 'a request with this Idempotency-Key is in progress; retry');
      }
      await startLifecycle(deps, connection);
      return reply.status(202).send(connectionView(connection));
    },
  );

  /**
   * The earlier answer for a reused Idempotency-Key (its workflow started again if that failed). The body is
   * compared with the key that fingerprinted it, so a retry after an encryption key rotation still matches.
   */
  async function replayIdempotent(tenantId: string, key: string, body: unknown) {
    const existing = await connections.idempotencyKey(tenantId, key);
    if (!existing) return null;
    if (!secrets.matchesFingerprint(body, existing.requestHash)) {
      throw new ApiError(
        409,
        'idempotency_key_reused',
        'this Idempotency-Key was used with a different request body',
      );
    }
    const connection = await connections.get(tenantId, existing.connectionId);
    await startLifecycle(deps, connection);
    return connectionView(connection);
  }

  app.get(
    '/connections',
    {
      schema: {
        tags: ['connections'],
        summary:
          'List connections, newest first, filtered by vendor, status, name (exact or by prefix) and tags',
        querystring: ListQuerySchema,
        response: { 200: ConnectionListSchema, 400: ErrorSchema },
      },
    },
    async (request) => {
      const page = await connections.list(readScope(request), request.query);
      return { items: page.items.map(connectionView), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/connections/:id',
    {
      schema: {
        tags: ['connections'],
        params: IdParamsSchema,
        response: { 200: ConnectionSchema, 400: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request) => connectionView(await connections.get(readScope(request), request.params.id)),
  );

  app.patch(
    '/connections/:id',
    {
      schema: {
        tags: ['connections'],
        summary:
          'Rename, re-tag or change settings without a relink; new settings are verified with the vendor first, like a rotation',
        params: IdParamsSchema,
        body: UpdateConnectionSchema,
        response: { 200: UpdateConnectionResultSchema, 422: UpdateConnectionResultSchema, ...errors },
      },
    },
    async (request, reply) => {
      const connection = await connections.get(readScope(request), request.params.id);
      const { name, tags, settings } = request.body;
      const vendor = getVendor(connection.vendor);
      const newSettings = settings === undefined ? null : changedSettings(vendor, connection, settings);
      if (newSettings) {
        const result = await verifySettings(connection, newSettings);
        if (result.outcome === 'rejected') {
          const current = connectionView(await connections.get(connection.tenantId, connection.id));
          return reply.status(422).send({
            outcome: 'rejected' as const,
            settingsVerified: false,
            reason: result.reason,
            message: result.message,
            missingScopes: result.missingScopes,
            connection: current,
          });
        }
      }
      // Verified settings were made live with the rotation; the row read now carries them.
      const fresh = newSettings ? await connections.get(connection.tenantId, connection.id) : connection;
      const updated = await connections.update(fresh, { name, tags, settingsChanged: newSettings !== null });
      return reply.status(200).send({
        outcome: 'updated' as const,
        settingsVerified: newSettings !== null,
        connection: connectionView(updated),
      });
    },
  );

  /**
   * The settings after merging the patch into the current ones, validated by the vendor's schema (400 naming
   * the field); null when they mean the same as the current ones.
   */
  function changedSettings(
    vendor: VendorDefinition,
    connection: { settings: unknown },
    patch: Record<string, unknown>,
  ): Record<string, unknown> | null {
    const current = (connection.settings ?? {}) as Record<string, unknown>;
    const merged = Object.fromEntries(
      Object.entries({ ...current, ...patch }).filter(([, value]) => value !== null),
    );
    const parsed = vendor.settings.safeParse(merged);
    if (!parsed.success) {
      throw validationError(
        parsed.error.issues.map((i) => ({
          // Unknown keys name themselves, as in every other 400 ("body.settings.extra").
          field: [
            'body',
            'settings',
            ...i.path.map(String),
            ...(i.code === 'unrecognized_keys' ? [i.keys.join(',')] : []),
          ].join('.'),
          message: i.message,
        })),
      );
    }
    const before = vendor.settings.safeParse(current);
    return before.success && isDeepStrictEqual(before.data, parsed.data) ? null : parsed.data;
  }

  /**
   * New settings go through the rotation path: the live credentials are staged again as the candidate, with
   * the new settings beside them; the workflow verifies the candidate with the vendor (token, permissions the
   * new settings require), and only when it passes are credentials and settings made live together.
   */
  async function verifySettings(
    connection: Awaited<ReturnType<typeof connections.get>>,
    settings: Record<string, unknown>,
  ) {
    if (connection.status === 'revoked' || connection.status === 'revoking') {
      throw new ApiError(409, 'conflict', `connection is ${connection.status}`);
    }
    const credentials = await secrets.readCredentials(connection.id);
    if (!credentials) throw new ApiError(409, 'conflict', 'the connection has no stored credentials');
    const rotationId = randomUUID();
    await secrets.stageCandidate(connection.id, rotationId, credentials, settings);
    try {
      return await sendCommand(deps, connection, rotateCredentialsUpdate, [{ rotationId }]);
    } catch (err) {
      await secrets.discardCandidate(connection.id, rotationId);
      throw err;
    }
  }

  app.get(
    '/connections/:id/events',
    {
      schema: {
        tags: ['connections'],
        summary: 'The audit trail of a connection, oldest first',
        params: IdParamsSchema,
        response: { 200: z.object({ items: z.array(AuditEventSchema) }), 400: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request) => {
      const connection = await connections.get(readScope(request), request.params.id);
      const events = await connections.events(connection);
      return {
        items: events.map((e) => ({
          id: e.id.toString(),
          type: e.type,
          fromStatus: e.fromStatus,
          toStatus: e.toStatus,
          actor: e.actor,
          detail: (e.detail ?? {}) as Record<string, unknown>,
          createdAt: e.createdAt.toISOString(),
        })),
      };
    },
  );

  const command = (
    path: string,
    summary: string,
    update: typeof refreshNowUpdate | typeof pauseUpdate | typeof resumeUpdate,
  ) =>
    app.post(
      `/connections/:id/${path}`,
      {
        schema: {
          tags: ['connections'],
          summary,
          params: IdParamsSchema,
          response: { 202: CommandAcceptedSchema, ...errors },
        },
      },
      async (request, reply) => {
        const connection = await connections.get(readScope(request), request.params.id);
        const accepted = await sendCommand(deps, connection, update, []);
        return reply.status(202).send({ id: connection.id, ...accepted });
      },
    );
  command(
    'refresh',
    'Refresh (or re-check) now; joins a refresh that has not called the vendor yet',
    refreshNowUpdate,
  );
  command('pause', 'Stop refreshing and checking until resumed', pauseUpdate);
  command('resume', 'Resume: re-verifies at once, then maintains again', resumeUpdate);

  app.put(
    '/connections/:id/credentials',
    {
      schema: {
        tags: ['connections'],
        summary: 'Rotate credentials: the new ones are verified before they replace the old ones',
        params: IdParamsSchema,
        body: RotateCredentialsSchema,
        response: { 200: RotationResultSchema, 422: RotationResultSchema, ...errors },
      },
    },
    async (request, reply) => {
      const connection = await connections.get(readScope(request), request.params.id);
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
      const rotationId = randomUUID();
      await secrets.stageCandidate(connection.id, rotationId, parsed.data);
      let result;
      try {
        result = await sendCommand(deps, connection, rotateCredentialsUpdate, [{ rotationId }]);
      } catch (err) {
        await secrets.discardCandidate(connection.id, rotationId);
        throw err;
      }
      const fresh = connectionView(await connections.get(connection.tenantId, connection.id));
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
      });
    },
  );

  app.delete(
    '/connections/:id',
    {
      schema: {
        tags: ['connections'],
        summary: 'Revoke: at the vendor where supported, then wipe the secrets',
        params: IdParamsSchema,
        response: { 202: CommandAcceptedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const connection = await connections.get(readScope(request), request.params.id);
      if (connection.status === 'revoked') {
        return reply.status(202).send({ id: connection.id, status: 'revoked', coalesced: true });
      }
      const accepted = await sendCommand(deps, connection, revokeUpdate, []);
      return reply.status(202).send({ id: connection.id, ...accepted });
    },
  );
};
