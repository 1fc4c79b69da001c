// Connections: link, list, read, update. Rows are read and written through api/tenant-data; the commands
// are in connection-commands.ts, the audit trail in audit-trail.ts.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { isDeepStrictEqual } from 'node:util';
import { getVendor, type VendorDefinition } from '../../catalog';
import { normaliseInstanceUrl } from '../../vendor-kit/instance-url';
import { rotateCredentialsUpdate } from '../../workflows/messages';
import type { AppDeps } from '../app';
import { sendCommand, startLifecycle } from '../commands';
import { connectionView } from '../connection-view';
import { readScope, requestActor, writeTenant } from '../auth';
import type { TenantData } from '../tenant-data';
import { ApiError, validationError } from '../errors';
import {
  ConnectionListSchema,
  ConnectionSchema,
  CreateConnectionSchema,
  ErrorSchema,
  IdempotencyHeadersSchema,
  IdParamsSchema,
  ListQuerySchema,
  MAX_COMMAND_WAIT_SECONDS,
  UpdateConnectionResultSchema,
  UpdateConnectionSchema,
} from '../schemas';
import { temporalUiOf } from '../temporal-ui';

const errors = { 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 503: ErrorSchema };

export const connectionRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; data: TenantData }> = async (
  app,
  { deps, data },
) => {
  const { secrets } = deps;
  const { connections } = data;
  const ui = temporalUiOf(deps);
  const view = (connection: Parameters<typeof connectionView>[0]) => connectionView(connection, ui);

  app.post(
    '/connections',
    {
      schema: {
        tags: ['connections'],
        summary: 'Link a vendor account: validates, stores the credentials encrypted, starts the lifecycle',
        headers: IdempotencyHeadersSchema,
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
        actor: requestActor(request),
      });
      if (!connection) {
        // Two requests raced with the same key: the loser answers like a replay.
        const replay = await replayIdempotent(tenantId, key!, body);
        if (replay) return reply.status(202).send(replay);
        throw new ApiError(409, 'conflict', 'a request with this Idempotency-Key is in progress; retry');
      }
      await startLifecycle(deps, connection);
      return reply.status(202).send(view(connection));
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
    return view(connection);
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
      return { items: page.items.map(view), nextCursor: page.nextCursor };
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
    async (request) => view(await connections.get(readScope(request), request.params.id)),
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
          const current = view(await connections.get(connection.tenantId, connection.id));
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
      const updated = await connections.update(
        fresh,
        { name, tags, settingsChanged: newSettings !== null },
        requestActor(request),
      );
      return reply.status(200).send({
        outcome: 'updated' as const,
        settingsVerified: newSettings !== null,
        connection: view(updated),
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
      return await sendCommand(deps, connection, rotateCredentialsUpdate, [{ rotationId }], {
        resultWaitMs: MAX_COMMAND_WAIT_SECONDS * 1000,
      });
    } catch (err) {
      // Refused: nothing will verify the candidate. Not confirmed, or still verifying (503): the
      // verification may run and needs it.
      if (err instanceof ApiError && err.statusCode === 409) {
        await secrets.discardCandidate(connection.id, rotationId);
      }
      throw err;
    }
  }
};
