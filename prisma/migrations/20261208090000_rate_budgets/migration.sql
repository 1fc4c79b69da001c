-- Vendor rate limits shared by every worker and API replica (platform/rate-budget.ts): one GCRA state per
-- budget key (`connection:<id>:<class>`, `host:<host>:token_requests`), the theoretical arrival time of the
-- next request in epoch milliseconds, as the database's clock tells it. Unlogged, like the reservations:
-- every take writes a row many processes contend for, and a crash losing the last moments of a budget only
-- lets one window's burst through again.
CREATE UNLOGGED TABLE "RateBudget" (
    "key" TEXT NOT NULL,
    "tatMs" DOUBLE PRECISION NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RateBudget_pkey" PRIMARY KEY ("key")
);

-- A slot taken for a call that waits for it elsewhere (a workflow timer): the owner's next attempt uses it
-- instead of taking another.
CREATE UNLOGGED TABLE "RateReservation" (
    "owner" TEXT NOT NULL,
    "keySet" TEXT NOT NULL,
    "slotMs" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "RateReservation_pkey" PRIMARY KEY ("owner", "keySet")
);
CREATE INDEX "RateReservation_slotMs_idx" ON "RateReservation"("slotMs");

-- Take one request's slot in every budget key at once (keys sorted by the caller, so concurrent calls lock
-- rows in the same order and never deadlock). Row locks only, held for this one statement's transaction.
-- GCRA per key: a request at time t conforms when t >= tat - tolerance; it moves tat to max(tat, t) + interval.
-- The slot is the earliest time conforming in every key; it is taken when it is at most reserve_within_ms
-- away (granted, wait_ms until it), else nothing changes (not granted, wait_ms until it would be).
-- With an owner, a slot further away than hold_after_ms is kept for the owner's next attempt.
CREATE FUNCTION take_rate_budget(
    p_keys TEXT[],
    p_intervals DOUBLE PRECISION[],
    p_tolerances DOUBLE PRECISION[],
    p_reserve_within_ms DOUBLE PRECISION,
    p_owner TEXT,
    p_hold_after_ms DOUBLE PRECISION
) RETURNS TABLE (granted BOOLEAN, wait_ms DOUBLE PRECISION)
LANGUAGE plpgsql AS $$
DECLARE
    now_ms DOUBLE PRECISION := extract(epoch FROM clock_timestamp()) * 1000;
    key_set TEXT := array_to_string(p_keys, ' ');
    held DOUBLE PRECISION;
    slot DOUBLE PRECISION := now_ms;
    current_tat DOUBLE PRECISION;
    i INT;
BEGIN
    -- The rows stay locked until commit: not waiting for a WAL flush keeps that short under bursts.
    PERFORM set_config('synchronous_commit', 'off', true);
    IF p_owner IS NOT NULL THEN
        SELECT r."slotMs" INTO held FROM "RateReservation" r
            WHERE r."owner" = p_owner AND r."keySet" = key_set FOR UPDATE;
        IF held IS NOT NULL THEN
            IF held - now_ms <= p_hold_after_ms THEN
                DELETE FROM "RateReservation" r WHERE r."owner" = p_owner AND r."keySet" = key_set;
            END IF;
            RETURN QUERY SELECT TRUE, greatest(held - now_ms, 0);
            RETURN;
        END IF;
    END IF;
    INSERT INTO "RateBudget" ("key", "tatMs") SELECT unnest(p_keys), 0 ON CONFLICT DO NOTHING;
    FOR i IN 1 .. array_length(p_keys, 1) LOOP
        SELECT b."tatMs" INTO current_tat FROM "RateBudget" b WHERE b."key" = p_keys[i] FOR UPDATE;
        slot := greatest(slot, current_tat - p_tolerances[i]);
    END LOOP;
    IF slot - now_ms > p_reserve_within_ms THEN
        RETURN QUERY SELECT FALSE, slot - now_ms;
        RETURN;
    END IF;
    UPDATE "RateBudget" b
        SET "tatMs" = greatest(b."tatMs", slot) + k.interval, "updatedAt" = CURRENT_TIMESTAMP
        FROM unnest(p_keys, p_intervals) AS k(key, interval)
        WHERE b."key" = k.key;
    IF p_owner IS NOT NULL AND slot - now_ms > p_hold_after_ms THEN
        INSERT INTO "RateReservation" ("owner", "keySet", "slotMs") VALUES (p_owner, key_set, slot);
        -- Slots whose owner never came back (a cancelled job) are forgotten after an hour.
        DELETE FROM "RateReservation" r WHERE r."slotMs" < now_ms - 3600000;
    END IF;
    RETURN QUERY SELECT TRUE, slot - now_ms;
END;
$$;
