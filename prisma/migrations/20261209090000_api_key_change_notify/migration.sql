-- API processes keep verified keys in memory (platform/api-keys.ts) and drop one the moment this tells them
-- it changed: a revocation (or any change to what a key is) written by any process, the CLI included,
-- notifies every API replica listening on tether_api_key_changed with the key's prefix. lastUsedAt
-- updates do not notify: they change nothing a request is allowed to do.
CREATE FUNCTION notify_api_key_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tether_api_key_changed', OLD."prefix");
    RETURN NULL;
END;
$$;

CREATE TRIGGER "ApiKey_changed"
    AFTER UPDATE ON "ApiKey"
    FOR EACH ROW
    WHEN (OLD."revokedAt" IS DISTINCT FROM NEW."revokedAt"
       OR OLD."scopes" IS DISTINCT FROM NEW."scopes"
       OR OLD."role" IS DISTINCT FROM NEW."role"
       OR OLD."tenantId" IS DISTINCT FROM NEW."tenantId"
       OR OLD."hash" IS DISTINCT FROM NEW."hash"
       OR OLD."salt" IS DISTINCT FROM NEW."salt"
       OR OLD."prefix" IS DISTINCT FROM NEW."prefix"
       OR OLD."name" IS DISTINCT FROM NEW."name")
    EXECUTE FUNCTION notify_api_key_changed();

CREATE TRIGGER "ApiKey_deleted"
    AFTER DELETE ON "ApiKey"
    FOR EACH ROW
    EXECUTE FUNCTION notify_api_key_changed();
