-- A held slot is good only at its time. An owner that comes back for it late (its workflow timer fired
-- late, its task waited on a busy worker) would send together with the requests of the slots after it, and
-- the vendor would see more than the limit in a window. Such a slot is now given up (it stays spent) and a
-- fresh one taken in the same call. So that late owners do not waste the budget, a slot whose owner is late
-- goes to whoever of the same budgets comes while it is due, and its owner takes another when it comes.
-- The clock is read once the rows are locked, so time spent waiting for a lock never makes a slot look
-- nearer than it is, and returned (now_ms): the caller tells from it how late the answer reached it.
-- A seventh argument with a default: a process still calling with six (a rolling upgrade) gets the same.
DROP FUNCTION take_rate_budget(TEXT[], DOUBLE PRECISION[], DOUBLE PRECISION[], DOUBLE PRECISION, TEXT, DOUBLE PRECISION);

-- The slots held for one set of budgets, in time order: where a late owner's slot is found.
CREATE INDEX "RateReservation_keySet_slotMs_idx" ON "RateReservation"("keySet", "slotMs");

-- Take one request's slot in every budget key at once (keys sorted by the caller, so concurrent calls lock
-- rows in the same order and never deadlock). Row locks only, held for this one statement's transaction.
-- GCRA per key: a request at time t conforms when t >= tat - tolerance; it moves tat to max(tat, t) + interval.
-- The slot is the earliest time conforming in every key; it is taken when it is at most reserve_within_ms
-- away (granted, wait_ms until it), else nothing changes (not granted, wait_ms until it would be).
-- With an owner, a slot further away than hold_after_ms is kept for the owner, which comes back
-- hold_after_ms before it and gets it, unless it comes more than late_ms after it (missed: it takes another).
-- Before taking a new slot, a caller takes a held one due within hold_after_ms / 2 (its owner, late by at
-- least that much, has not come for it), so none goes unused while owners run late.
CREATE FUNCTION take_rate_budget(
    p_keys TEXT[],
    p_intervals DOUBLE PRECISION[],
    p_tolerances DOUBLE PRECISION[],
    p_reserve_within_ms DOUBLE PRECISION,
    p_owner TEXT,
    p_hold_after_ms DOUBLE PRECISION,
    p_late_ms DOUBLE PRECISION DEFAULT 100
) RETURNS TABLE (granted BOOLEAN, wait_ms DOUBLE PRECISION, missed BOOLEAN, now_ms DOUBLE PRECISION)
LANGUAGE plpgsql AS $$
DECLARE
    t_now DOUBLE PRECISION;
    key_set TEXT := array_to_string(p_keys, ' ');
    held DOUBLE PRECISION;
    was_missed BOOLEAN := FALSE;
    late_owner TEXT;
    tats DOUBLE PRECISION[] := '{}';
    slot DOUBLE PRECISION;
    i INT;
BEGIN
    -- The rows stay locked until commit: not waiting for a WAL flush keeps that short under bursts.
    PERFORM set_config('synchronous_commit', 'off', true);
    IF p_owner IS NOT NULL THEN
        SELECT r."slotMs" INTO held FROM "RateReservation" r
            WHERE r."owner" = p_owner AND r."keySet" = key_set FOR UPDATE;
    END IF;
    t_now := extract(epoch FROM clock_timestamp()) * 1000;
    IF held IS NOT NULL AND held >= t_now - p_late_ms THEN
        IF held - t_now <= p_hold_after_ms THEN
            DELETE FROM "RateReservation" r WHERE r."owner" = p_owner AND r."keySet" = key_set;
        END IF;
        RETURN QUERY SELECT TRUE, greatest(held - t_now, 0), FALSE, t_now;
        RETURN;
    END IF;
    IF held IS NOT NULL THEN
        DELETE FROM "RateReservation" r WHERE r."owner" = p_owner AND r."keySet" = key_set;
        was_missed := TRUE;
    END IF;
    -- SKIP LOCKED: an owner locking its own slot right now is not late for it, and no one waits on it.
    SELECT r."owner", r."slotMs" INTO late_owner, slot FROM "RateReservation" r
        WHERE r."keySet" = key_set AND r."slotMs" BETWEEN t_now - p_late_ms AND t_now + p_hold_after_ms / 2
        ORDER BY r."slotMs" LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF late_owner IS NOT NULL THEN
        DELETE FROM "RateReservation" r WHERE r."owner" = late_owner AND r."keySet" = key_set;
        RETURN QUERY SELECT TRUE, greatest(slot - t_now, 0), was_missed, t_now;
        RETURN;
    END IF;
    INSERT INTO "RateBudget" ("key", "tatMs") SELECT unnest(p_keys), 0 ON CONFLICT DO NOTHING;
    FOR i IN 1 .. array_length(p_keys, 1) LOOP
        tats := tats || (SELECT b."tatMs" FROM "RateBudget" b WHERE b."key" = p_keys[i] FOR UPDATE);
    END LOOP;
    t_now := extract(epoch FROM clock_timestamp()) * 1000;
    slot := t_now;
    FOR i IN 1 .. array_length(p_keys, 1) LOOP
        slot := greatest(slot, tats[i] - p_tolerances[i]);
    END LOOP;
    IF slot - t_now > p_reserve_within_ms THEN
        RETURN QUERY SELECT FALSE, slot - t_now, was_missed, t_now;
        RETURN;
    END IF;
    UPDATE "RateBudget" b
        SET "tatMs" = greatest(b."tatMs", slot) + k.interval, "updatedAt" = CURRENT_TIMESTAMP
        FROM unnest(p_keys, p_intervals) AS k(key, interval)
        WHERE b."key" = k.key;
    IF p_owner IS NOT NULL AND slot - t_now > p_hold_after_ms THEN
        INSERT INTO "RateReservation" ("owner", "keySet", "slotMs") VALUES (p_owner, key_set, slot);
        -- Slots whose owner never came back (a cancelled job) are forgotten after an hour; one its owner
        -- has locked (it came back, and waits for the rows this call holds) is left to it.
        DELETE FROM "RateReservation" r WHERE (r."owner", r."keySet") IN (
            SELECT o."owner", o."keySet" FROM "RateReservation" o
                WHERE o."slotMs" < t_now - 3600000 FOR UPDATE SKIP LOCKED);
    END IF;
    RETURN QUERY SELECT TRUE, slot - t_now, was_missed, t_now;
END;
$$;
