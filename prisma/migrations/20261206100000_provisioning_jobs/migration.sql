-- Provisioning jobs: one row per job, run by the workflow provision:<id> (see domain/jobs.ts).
CREATE TYPE "JobStatus" AS ENUM ('queued', 'waiting_for_connection', 'running', 'succeeded', 'failed', 'cancelled');

CREATE TABLE "Job" (
    "id" UUID NOT NULL,
    "tenantId" TEXT NOT NULL,
    "connectionId" UUID NOT NULL,
    "vendor" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "input" JSONB NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'queued',
    "vendorId" TEXT,
    "result" JSONB,
    "failureReason" TEXT,
    "failureMessage" TEXT,
    "vendorRequestSentAt" TIMESTAMP(3),
    "idempotencyKey" TEXT,
    "requestHash" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Job_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "Job_tenantId_idempotencyKey_key" ON "Job"("tenantId", "idempotencyKey");
CREATE INDEX "Job_tenantId_createdAt_id_idx" ON "Job"("tenantId", "createdAt", "id");
CREATE INDEX "Job_connectionId_createdAt_id_idx" ON "Job"("connectionId", "createdAt", "id");

ALTER TABLE "Job" ADD CONSTRAINT "Job_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
