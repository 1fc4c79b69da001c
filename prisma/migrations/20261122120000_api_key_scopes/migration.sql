-- API keys get scopes. Keys that exist keep what they could do before (DEFAULT_API_KEY_SCOPES in
-- domain/api-key-scopes.ts); admin keys hold every scope whatever the column says.
ALTER TABLE "ApiKey" ADD COLUMN "scopes" TEXT[] DEFAULT ARRAY[]::TEXT[];

UPDATE "ApiKey" SET "scopes" = ARRAY['connections:read', 'connections:write', 'webhooks:read', 'webhooks:write'];
