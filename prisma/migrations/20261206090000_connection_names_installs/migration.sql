-- Every connection has a name (given, or a default "<vendor>-<auth kind>-<n>" numbered per tenant and prefix),
-- and for OAuth installs where the vendor installed the app (Slack: Enterprise Grid org or workspace). A new
-- install supersedes the states of earlier ones.
ALTER TABLE "Connection" RENAME COLUMN "displayName" TO "name";
ALTER TABLE "Connection" ADD COLUMN "installedOn" JSONB;

CREATE TABLE "ConnectionNameCounter" (
    "tenantId" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "last" INTEGER NOT NULL,

    CONSTRAINT "ConnectionNameCounter_pkey" PRIMARY KEY ("tenantId","prefix")
);

-- Existing rows: the prefixes catalog/*.ts gives (shortName-auth kind label), numbered by creation.
CREATE TEMPORARY TABLE "_named" AS
SELECT "id", "tenantId", "name", "prefix",
       ROW_NUMBER() OVER (PARTITION BY "tenantId", "prefix" ORDER BY "createdAt", "id") AS "n"
FROM (
    SELECT "id", "tenantId", "name", "createdAt",
           CASE "vendor"
               WHEN 'invgate' THEN 'InvGate-Client Credentials'
               WHEN 'halo' THEN 'HaloITSM-Client Credentials'
               WHEN 'ninjaone' THEN 'NinjaOne-Client Credentials'
               WHEN 'slack' THEN 'Slack-Bearer Token'
               WHEN 'slack-grid' THEN 'Slack-OAuth Install'
               WHEN 'promapp' THEN 'Promapp-Bearer Token'
               ELSE "vendor"
           END AS "prefix"
    FROM "Connection"
) AS "c";

UPDATE "Connection" SET "name" = "_named"."prefix" || '-' || "_named"."n"
FROM "_named" WHERE "Connection"."id" = "_named"."id" AND "Connection"."name" IS NULL;

INSERT INTO "ConnectionNameCounter" ("tenantId", "prefix", "last")
SELECT "tenantId", "prefix", MAX("n") FROM "_named" GROUP BY "tenantId", "prefix";

DROP TABLE "_named";

ALTER TABLE "Connection" ALTER COLUMN "name" SET NOT NULL;
CREATE INDEX "Connection_tenantId_name_idx" ON "Connection"("tenantId", "name");

ALTER TABLE "OAuthState" ADD COLUMN "supersededAt" TIMESTAMP(3);
