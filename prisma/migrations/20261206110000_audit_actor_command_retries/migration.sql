-- Every audit event names its actor: the API key (id and name), the workflow, or an operator command.
-- Nullable columns: adding them rewrites no row, so the append-only trigger is not involved.
ALTER TABLE "AuditEvent" ADD COLUMN "actorId" TEXT;
ALTER TABLE "AuditEvent" ADD COLUMN "actorLabel" TEXT;

-- The trail filtered by event type, newest first.
CREATE INDEX "AuditEvent_connectionId_type_id_idx" ON "AuditEvent"("connectionId", "type", "id");

-- An OAuth callback retried after a timeout hands over the code stored the first time, not a second copy.
ALTER TABLE "OAuthState" ADD COLUMN "codeStoredAt" TIMESTAMP(3);
