// Activities of the connection lifecycle. Inputs and results carry ids, timings and scope names,
// never secrets: tokens go straight from the vendor's answer into the encrypted store.
import { log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { getVendor, type VendorDefinition } from '../catalog';
import { vendorContext } from '../vendor-kit/context';
import type { ClientCredentials, InstallTarget, VendorEndpoints } from '../vendor-kit/definition';
import type { Db, Prisma } from '../platform/db';
import type { Credentials, SecretStore } from '../platform/secret-store';
import { DEFAULT_QUOTAS } from '../platform/config';
import { VendorError } from '../vendor-kit/vendor-error';
import type { VendorHttp } from '../vendor-kit/vendor-http';
import type { Transition } from '../domain/transition';
import { FailureType } from '../domain/failures';
import {
  type CredentialSlot,
  type ScopeVerification,
  type TokenInfo,
  type VendorRevocation,
} from '../domain/connection';
import { classified, tagVendor } from './failures';
import { completeInstall, renewInstalledToken } from './oauth-install';
import { budgetedContext, type SharedRateLimits } from './rate-budgets';
import { recordTransition } from './record-transition';
import { countRefusedDeliveries, deliverWebhook } from './webhook-delivery';
import { webhookEventFor } from '../domain/webhook-events';
import { verifyScopes, type VerificationMode } from '../vendor-kit/scope-verification';
import { grantClientCredentials } from '../vendor-kit/token-grant';

export interface ActivityDeps {
  db: Db;
  secrets: SecretStore;
  http: VendorHttp;
  /** Overrides of fixed vendor URLs (tests and the demo point Slack at its simulator). */
  endpoints?: VendorEndpoints;
  /** The tenant's pending webhook deliveries quota (TETHER_QUOTA_PENDING_DELIVERIES); default its default. */
  pendingDeliveriesLimit?: number;
  /** The vendor rate limits every process shares; unset, requests take no budget. */
  rateLimits?: SharedRateLimits;
}

interface SlotInput {
  connectionId: string;
  slot: CredentialSlot;
  /**
   * Candidate slot: the rotation the workflow is verifying. Credentials staged by another (newer) rotation
   * are not its to use, and the step ends as superseded, never as a verdict on credentials it did not try.
   */
  rotationId?: string;
}

const DAY_MS = 86_400_000;

export function createActivities(deps: ActivityDeps) {
  const { db, secrets, http, endpoints, pendingDeliveriesLimit = DEFAULT_QUOTAS.pendingDeliveries } = deps;
  /**
   * `budgeted`: its requests take slots in the connection's shared rate budgets, a long wait held for the
   * workflow's next call. Redeeming an install's code (it expires in minutes) and revoking do not wait.
   */
  async function load(connectionId: string, { budgeted }: { budgeted: boolean }) {
    const connection = await db.connection.findUnique({ where: { id: connectionId } });
    if (!connection) {
      throw ApplicationFailure.nonRetryable(
        `connection ${connectionId} not found`,
        FailureType.InvalidConfiguration,
      );
    }
    const vendor = getVendor(connection.vendor);
    tagVendor(vendor.id);
    const ctx = budgeted
      ? budgetedContext(connection, vendor, deps, `connection:${connectionId}`)
      : vendorContext(connection, http, endpoints);
    return { connection, vendor, ctx };
  }

  /**
   * The connection, its vendor and the context to call it with: for a rotation's candidate staged with new
   * settings (a settings change verified like a rotation), those settings instead of the live ones.
   */
  async function loadSlot(connectionId: string, slot: CredentialSlot, rotationId?: string) {
    const loaded = await load(connectionId, { budgeted: true });
    if (slot !== 'candidate') return { ...loaded, candidateSettings: null };
    const candidateSettings = (await candidateFor(connectionId, rotationId)).settings;
    if (!candidateSettings) return { ...loaded, candidateSettings };
    const ctx = budgetedContext(
      { ...loaded.connection, settings: candidateSettings },
      loaded.vendor,
      deps,
      `connection:${connectionId}`,
    );
    return { ...loaded, ctx, candidateSettings };
  }

  /** The staged candidate of this rotation (any rotation when the input names none, as before rotationId). */
  async function candidateFor(connectionId: string, rotationId: string | undefined) {
    const staged = await secrets.readCandidate(connectionId);
    if (!staged || (rotationId !== undefined && staged.rotationId !== rotationId)) {
      throw ApplicationFailure.nonRetryable(
        'the staged credentials are gone (superseded or discarded)',
        FailureType.RotationSuperseded,
      );
    }
    return staged;
  }

  async function credentialsFor(
    connectionId: string,
    slot: CredentialSlot,
    rotationId?: string,
  ): Promise<Credentials> {
    if (slot === 'candidate') return (await candidateFor(connectionId, rotationId)).credentials;
    const found = await secrets.readCredentials(connectionId);
    if (!found)
      throw ApplicationFailure.nonRetryable('no stored credentials', FailureType.InvalidCredentials);
    return found;
  }

  /** The bearer token API calls use: the granted access token, or the customer's static token. */
  async function accessTokenFor(
    vendor: VendorDefinition,
    connectionId: string,
    slot: CredentialSlot,
    rotationId?: string,
  ) {
    if (vendor.auth.kind === 'static_bearer')
      return (await credentialsFor(connectionId, slot, rotationId)).token!;
    const token =
      slot === 'live'
        ? await secrets.readAccessToken(connectionId)
        : (await candidateFor(connectionId, rotationId)).accessToken;
    if (!token)
      throw ApplicationFailure.nonRetryable('no access token stored yet', FailureType.TokenRejected);
    return token;
  }

  return {
    /** Obtain a token for the live credentials or a rotation's candidate and store it encrypted. */
    async obtainToken({
      connectionId,
      slot,
      rotationId,
      verify,
    }: SlotInput & { verify?: VerificationMode }): Promise<TokenInfo & { verification?: ScopeVerification }> {
      return classified(async () => {
        const { connection, vendor, ctx, candidateSettings } = await loadSlot(connectionId, slot, rotationId);
        // With `verify`, the scopes are checked here, with the token just obtained: one activity per link or
        // refresh instead of two (a task round trip and two database reads fewer), and the token cannot
        // expire while a separate verifyScopes activity waits in a busy queue.
        const withVerification = async (info: TokenInfo, accessToken?: string) => {
          if (!verify) return info;
          const token =
            info.grantedScopes?.length === 0
              ? ''
              : (accessToken ?? (await accessTokenFor(vendor, connectionId, slot, rotationId)));
          return {
            ...info,
            verification: await verifyScopes(vendor, ctx, token, info.grantedScopes, verify),
          };
        };
        const now = Date.now();
        if (vendor.auth.kind === 'static_bearer') {
          const credentials = await credentialsFor(connectionId, slot, rotationId);
          return withVerification(
            {
              obtainedAt: now,
              expiresAt: null,
              grantedScopes: null,
              credentialExpiresAt: staticCredentialExpiry(vendor, ctx.settings, connection, slot, now, {
                sameCredential: candidateSettings !== null,
              }),
            },
            credentials.token,
          );
        }
        if (vendor.auth.kind === 'oauth2_install') {
          // An OAuth app's client id and secret prove themselves only by an install: no candidate to try alone.
          if (slot === 'candidate') {
            throw new VendorError(
              FailureType.InvalidConfiguration,
              `${vendor.name} checks a client id and secret only by installing the app: link a new connection with them`,
            );
          }
          const token = await renewInstalledToken(vendor.auth, ctx, secrets, connectionId);
          log.info('token renewed', { connectionId, vendor: vendor.id, expiresAt: token.expiresAt });
          return withVerification(token);
        }
        const credentials = (await credentialsFor(
          connectionId,
          slot,
          rotationId,
        )) as unknown as ClientCredentials;
        const granted = await grantClientCredentials(vendor, vendor.auth, ctx, credentials);
        if (slot === 'live') await secrets.saveAccessToken(connectionId, granted.accessToken);
        else {
          // Kept only beside the rotation it was granted for: a newer stage drops it.
          const owner = rotationId ?? (await secrets.readCandidate(connectionId))?.rotationId ?? '';
          await secrets.saveCandidateToken(connectionId, owner, granted.accessToken);
        }
        log.info('token obtained', {
          connectionId,
          vendor: vendor.id,
          slot,
          expiresIn: granted.expiresInSeconds,
        });
        return withVerification(
          {
            obtainedAt: now,
            expiresAt: now + granted.expiresInSeconds * 1000,
            grantedScopes: granted.grantedScopes,
            credentialExpiresAt: null,
          },
          granted.accessToken,
        );
      });
    },

    /** Compare granted with required scopes, naming each missing one and its purpose. */
    async verifyScopes({
      connectionId,
      slot,
      rotationId,
      mode,
      grantedScopes,
    }: SlotInput & { mode: VerificationMode; grantedScopes: string[] | null }): Promise<ScopeVerification> {
      return classified(async () => {
        const { vendor, ctx } = await loadSlot(connectionId, slot, rotationId);
        // Nothing granted is settled without a call, and may come without any token (Slack then issues none).
        const token =
          grantedScopes?.length === 0 ? '' : await accessTokenFor(vendor, connectionId, slot, rotationId);
        return verifyScopes(vendor, ctx, token, grantedScopes, mode);
      });
    },

    /**
     * Redeem an OAuth install's code and store the tokens. Only `installId` travels through history: the
     * code is a short-lived secret, stored encrypted by the API's callback and read here.
     */
    async completeInstall({
      connectionId,
      installId,
    }: {
      connectionId: string;
      installId: string;
    }): Promise<TokenInfo> {
      return classified(async () => {
        const { connection, vendor, ctx } = await load(connectionId, { budgeted: false });
        if (vendor.auth.kind !== 'oauth2_install') {
          throw new VendorError(
            FailureType.InvalidConfiguration,
            `${vendor.name} is not linked by an install`,
          );
        }
        const revoke = vendor.revoke;
        const token = await completeInstall(vendor.auth, ctx, secrets, connectionId, installId, {
          previous: (connection.installedOn ?? null) as InstallTarget | null,
          record: async (installedOn) => {
            await db.connection.update({
              where: { id: connectionId },
              data: { installedOn: installedOn as unknown as Prisma.InputJsonObject },
            });
          },
          revoke: async (accessToken) => {
            if (revoke.supported) await revoke.revoke(ctx, {}, accessToken);
          },
        });
        log.info('install completed', {
          connectionId,
          vendor: vendor.id,
          grantedScopes: token.grantedScopes,
        });
        return token;
      });
    },

    /** Cheap periodic check of a token that never expires. */
    async probeHealth({ connectionId }: { connectionId: string }): Promise<ScopeVerification> {
      return classified(async () => {
        const { vendor, ctx } = await load(connectionId, { budgeted: true });
        const token = await accessTokenFor(vendor, connectionId, 'live');
        return verifyScopes(vendor, ctx, token, null, 'health');
      });
    },

    /** Returns the webhook deliveries the transition caused, for the workflow to send. */
    async recordTransition(input: {
      connectionId: string;
      tenantId: string;
      transition: Transition;
    }): Promise<{ deliveries: string[] }> {
      const { queued, refused } = await recordTransition(db, input, pendingDeliveriesLimit);
      if (refused.length > 0) {
        const type = webhookEventFor(input.transition);
        if (type) countRefusedDeliveries(type, refused.length);
      }
      return { deliveries: queued };
    },

    async deliverWebhook({ deliveryId }: { deliveryId: string }): Promise<{ status: number }> {
      return deliverWebhook({ db, secrets, http }, deliveryId);
    },

    /** Retries are exhausted: keep the event, marked failed, for the customer to fetch or redeliver. */
    async markWebhookFailed({ deliveryId }: { deliveryId: string }): Promise<void> {
      await db.webhookDelivery.updateMany({
        where: { id: deliveryId, status: 'pending' },
        data: { status: 'failed' },
      });
    },

    async promoteCandidate({ connectionId, rotationId }: { connectionId: string; rotationId: string }) {
      return secrets.promoteCandidate(connectionId, rotationId);
    },

    async discardCandidate({ connectionId, rotationId }: { connectionId: string; rotationId: string }) {
      await secrets.discardCandidate(connectionId, rotationId);
    },

    /** Revoke at the vendor where it can be done; say so where it cannot. */
    async revokeAtVendor({ connectionId }: { connectionId: string }): Promise<{ outcome: VendorRevocation }> {
      return classified(async () => {
        const { vendor, ctx } = await load(connectionId, { budgeted: false });
        if (!vendor.revoke.supported) return { outcome: 'unsupported' };
        const credentials = await secrets.readCredentials(connectionId);
        if (!credentials) return { outcome: 'revoked' };
        const token =
          vendor.auth.kind === 'static_bearer' ? null : await secrets.readAccessToken(connectionId);
        await vendor.revoke.revoke(ctx, credentials, token);
        return { outcome: 'revoked' };
      });
    },

    async wipeSecrets({ connectionId }: { connectionId: string }): Promise<{ wiped: number }> {
      return { wiped: await secrets.wipe(connectionId) };
    },
  };
}

export type ConnectionActivities = ReturnType<typeof createActivities>;

/**
 * A static token's own expiry: the customer's date, else the vendor's lifetime from when we got it. A
 * candidate is a new token, unless it is the live one staged again with new settings (`sameCredential`):
 * then a date in the new settings wins, and otherwise the live token's expiry stays.
 */
function staticCredentialExpiry(
  vendor: VendorDefinition,
  settings: Record<string, unknown>,
  connection: { createdAt: Date; credentialExpiresAt: Date | null },
  slot: CredentialSlot,
  now: number,
  { sameCredential }: { sameCredential: boolean },
): number | null {
  if (vendor.auth.kind !== 'static_bearer' || !vendor.auth.lifetimeDays) return null;
  const lifetime = vendor.auth.lifetimeDays * DAY_MS;
  if (slot === 'candidate' && !sameCredential) return now + lifetime;
  if (sameCredential && typeof settings.tokenExpiresAt === 'string')
    return Date.parse(settings.tokenExpiresAt);
  if (connection.credentialExpiresAt) return connection.credentialExpiresAt.getTime();
  if (typeof settings.tokenExpiresAt === 'string') return Date.parse(settings.tokenExpiresAt);
  return connection.createdAt.getTime() + lifetime;
}
