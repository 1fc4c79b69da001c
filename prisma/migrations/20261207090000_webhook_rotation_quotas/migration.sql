-- Webhook endpoints: description, secret rotation with an overlap (the replaced secret kept sealed until
-- it expires), deletion that wipes the secrets. Indexes for cursor paging and the per-tenant quotas.
ALTER TABLE "WebhookEndpoint" ADD COLUMN "description" TEXT,
ADD COLUMN "previousSecretKeyId" TEXT,
ADD COLUMN "previousSecretSealed" BYTEA,
ADD COLUMN "previousSecretExpiresAt" TIMESTAMP(3),
ADD COLUMN "deletedAt" TIMESTAMP(3),
ALTER COLUMN "secretKeyId" DROP NOT NULL,
ALTER COLUMN "secretSealed" DROP NOT NULL;

DROP INDEX "WebhookEndpoint_tenantId_idx";
CREATE INDEX "WebhookEndpoint_tenantId_createdAt_id_idx" ON "WebhookEndpoint"("tenantId", "createdAt", "id");
CREATE INDEX "WebhookEndpoint_previousSecretExpiresAt_idx" ON "WebhookEndpoint"("previousSecretExpiresAt");

DROP INDEX "WebhookDelivery_endpointId_createdAt_idx";
CREATE INDEX "WebhookDelivery_endpointId_createdAt_id_idx" ON "WebhookDelivery"("endpointId", "createdAt", "id");
CREATE INDEX "WebhookDelivery_tenantId_status_idx" ON "WebhookDelivery"("tenantId", "status");

DROP INDEX "ApiKey_tenantId_idx";
CREATE INDEX "ApiKey_tenantId_createdAt_id_idx" ON "ApiKey"("tenantId", "createdAt", "id");

CREATE INDEX "Job_tenantId_status_idx" ON "Job"("tenantId", "status");
