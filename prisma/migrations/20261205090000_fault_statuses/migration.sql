-- Faults read right: a link that found the configuration wrong or kept failing has its own status; optional
-- permissions the vendor withheld are listed without blocking; a run of failed checks says when it began.
ALTER TYPE "ConnectionStatus" ADD VALUE 'invalid_configuration' BEFORE 'degraded';
ALTER TYPE "ConnectionStatus" ADD VALUE 'link_failed' BEFORE 'degraded';

ALTER TABLE "Connection" ADD COLUMN "missingOptional" JSONB NOT NULL DEFAULT '[]';
ALTER TABLE "Connection" ADD COLUMN "failingSince" TIMESTAMP(3);
