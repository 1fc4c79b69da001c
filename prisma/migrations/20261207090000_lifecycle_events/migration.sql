-- Lifecycle events: one person's joiner, mover or leaver across connections, one job per target
-- (see domain/lifecycle-events.ts).
CREATE TYPE "LifecycleEventStatus" AS ENUM ('running', 'completed', 'completed_with_failures');

CREATE TABLE "LifecycleEvent" (
    "id" UUID NOT NULL,
    "tenantId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "person" JSONB NOT NULL,
    "status" "LifecycleEventStatus" NOT NULL DEFAULT 'running',
    "idempotencyKey" TEXT,
    "requestHash" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "completedAt" TIMESTAMP(3),

    CONSTRAINT "LifecycleEvent_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "LifecycleTarget" (
    "eventId" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "connectionId" UUID NOT NULL,
    "jobId" UUID NOT NULL,

    CONSTRAINT "LifecycleTarget_pkey" PRIMARY KEY ("eventId","position")
);

CREATE UNIQUE INDEX "LifecycleEvent_tenantId_idempotencyKey_key" ON "LifecycleEvent"("tenantId", "idempotencyKey");
CREATE INDEX "LifecycleEvent_tenantId_createdAt_id_idx" ON "LifecycleEvent"("tenantId", "createdAt", "id");
CREATE UNIQUE INDEX "LifecycleTarget_jobId_key" ON "LifecycleTarget"("jobId");
CREATE INDEX "LifecycleTarget_connectionId_idx" ON "LifecycleTarget"("connectionId");

ALTER TABLE "LifecycleTarget" ADD CONSTRAINT "LifecycleTarget_eventId_fkey" FOREIGN KEY ("eventId") REFERENCES "LifecycleEvent"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "LifecycleTarget" ADD CONSTRAINT "LifecycleTarget_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "LifecycleTarget" ADD CONSTRAINT "LifecycleTarget_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
