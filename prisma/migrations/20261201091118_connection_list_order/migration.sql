-- The connection list pages newest first within a tenant, by (createdAt, id): see api/data/page-cursor.ts.
CREATE INDEX "Connection_tenantId_createdAt_id_idx" ON "Connection"("tenantId", "createdAt", "id");
