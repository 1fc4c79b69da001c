-- CreateEnum
CREATE TYPE "ConnectionStatus" AS ENUM ('linking', 'active', 'expiring', 'insufficient_scopes', 'invalid_credentials', 'degraded', 'needs_reauth', 'paused', 'revoking', 'revoked');

-- CreateEnum
CREATE TYPE "SecretKind" AS ENUM ('credentials', 'staged_credentials', 'access_token', 'refresh_token');

-- CreateTable
CREATE TABLE "Connection" (
    "id" UUID NOT NULL,
    "tenantId" TEXT NOT NULL,
    "vendor" TEXT NOT NULL,
    "instanceUrl" TEXT NOT NULL,
    "displayName" TEXT,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "status" "ConnectionStatus" NOT NULL DEFAULT 'linking',
    "statusReason" TEXT,
    "statusMessage" TEXT,
    "missingScopes" JSONB NOT NULL DEFAULT '[]',
    "grantedScopes" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "tokenObtainedAt" TIMESTAMP(3),
    "tokenExpiresAt" TIMESTAMP(3),
    "credentialExpiresAt" TIMESTAMP(3),
    "lastCheckedAt" TIMESTAMP(3),
    "lastSuccessAt" TIMESTAMP(3),
    "nextCheckAt" TIMESTAMP(3),
    "consecutiveFailures" INTEGER NOT NULL DEFAULT 0,
    "vendorRevocation" TEXT,
    "revokedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Connection_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ConnectionSecret" (
    "connectionId" UUID NOT NULL,
    "kind" "SecretKind" NOT NULL,
    "keyId" TEXT NOT NULL,
    "sealed" BYTEA NOT NULL,
    "rotationId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ConnectionSecret_pkey" PRIMARY KEY ("connectionId","kind")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" BIGSERIAL NOT NULL,
    "connectionId" UUID NOT NULL,
    "tenantId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "fromStatus" "ConnectionStatus",
    "toStatus" "ConnectionStatus",
    "detail" JSONB NOT NULL DEFAULT '{}',
    "actor" TEXT NOT NULL,
    "dedupeKey" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "IdempotencyKey" (
    "tenantId" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "requestHash" TEXT NOT NULL,
    "connectionId" UUID NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "IdempotencyKey_pkey" PRIMARY KEY ("tenantId","key")
);

-- CreateIndex
CREATE INDEX "Connection_tenantId_vendor_status_idx" ON "Connection"("tenantId", "vendor", "status");

-- CreateIndex
CREATE INDEX "Connection_status_idx" ON "Connection"("status");

-- CreateIndex
CREATE UNIQUE INDEX "AuditEvent_dedupeKey_key" ON "AuditEvent"("dedupeKey");

-- CreateIndex
CREATE INDEX "AuditEvent_connectionId_id_idx" ON "AuditEvent"("connectionId", "id");

-- AddForeignKey
ALTER TABLE "ConnectionSecret" ADD CONSTRAINT "ConnectionSecret_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AuditEvent" ADD CONSTRAINT "AuditEvent_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AuditEvent is append-only: the audit trail must never be rewritten, not even by the service itself.
-- (Hand-written: Prisma's schema language cannot express triggers.) Row-level for UPDATE/DELETE, so
-- a cascade that touches no audit row still works; TRUNCATE would bypass row triggers, so it is
-- refused too.
CREATE FUNCTION "AuditEvent_refuse_change"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'AuditEvent is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'restrict_violation', HINT = 'Record a new audit event instead.';
END;
$$;

CREATE TRIGGER "AuditEvent_append_only"
  BEFORE UPDATE OR DELETE ON "AuditEvent"
  FOR EACH ROW EXECUTE FUNCTION "AuditEvent_refuse_change"();

CREATE TRIGGER "AuditEvent_no_truncate"
  BEFORE TRUNCATE ON "AuditEvent"
  FOR EACH STATEMENT EXECUTE FUNCTION "AuditEvent_refuse_change"();
