-- Connect sessions (the hosted connect page), their per-tenant return URL allowlist, and tags on connections.
-- AlterTable
ALTER TABLE "Connection" ADD COLUMN     "tags" JSONB NOT NULL DEFAULT '{}';

-- CreateTable
CREATE TABLE "ConnectSession" (
    "id" UUID NOT NULL,
    "tenantId" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "vendors" TEXT[],
    "tags" JSONB NOT NULL DEFAULT '{}',
    "returnUrl" TEXT,
    "connectionId" UUID,
    "reconnect" BOOLEAN NOT NULL DEFAULT false,
    "actedAt" TIMESTAMP(3),
    "actedMark" BIGINT,
    "attemptResult" JSONB,
    "installStateHash" TEXT,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "completedAt" TIMESTAMP(3),
    "outcome" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ConnectSession_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ConnectReturnUrl" (
    "tenantId" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ConnectReturnUrl_pkey" PRIMARY KEY ("tenantId","url")
);

-- CreateIndex
CREATE UNIQUE INDEX "ConnectSession_tokenHash_key" ON "ConnectSession"("tokenHash");

-- CreateIndex
CREATE UNIQUE INDEX "ConnectSession_installStateHash_key" ON "ConnectSession"("installStateHash");

-- CreateIndex
CREATE INDEX "ConnectSession_tenantId_createdAt_idx" ON "ConnectSession"("tenantId", "createdAt");

