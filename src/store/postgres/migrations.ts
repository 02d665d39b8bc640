// The PostgreSQL schema, in order; the `schema_version` table holds one row a migration applied.
// Never edit a released migration: add the next one. Version 1 is the whole schema the SQLite store
// reached in its seven steps, with PostgreSQL's own tools for what SQLite did by hand.

export const PG_MIGRATIONS: readonly string[] = [
  `-- the inbound log (dedupe on SmsSid) and the one-send-per-inbound claims of send nodes
   CREATE TABLE inbound (
     sid text PRIMARY KEY,
     endpoint text NOT NULL,
     from_number text NOT NULL,
     to_number text NOT NULL,
     body text NOT NULL,
     received_at text NOT NULL,
     account_sid text NOT NULL,
     recorded_at bigint NOT NULL,
     handled boolean NOT NULL DEFAULT false
   );
   CREATE INDEX inbound_unhandled ON inbound (endpoint, recorded_at, sid) WHERE NOT handled;
   CREATE TABLE send_claim (
     node_id text NOT NULL,
     claim_key text NOT NULL,
     claimed_at bigint NOT NULL,
     PRIMARY KEY (node_id, claim_key)
   );

   -- opt-outs, one row a number, and their history, which is only ever appended to (the audit trail)
   CREATE TABLE opt_out (
     phone text PRIMARY KEY,
     status text NOT NULL CHECK (status IN ('opted-in', 'opted-out')),
     keyword text,
     source text NOT NULL,
     updated_at bigint NOT NULL,
     confirmation_sent boolean NOT NULL DEFAULT false
   );
   CREATE TABLE opt_out_history (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     phone text NOT NULL,
     status text NOT NULL,
     keyword text,
     source text NOT NULL,
     at bigint NOT NULL
   );
   CREATE INDEX opt_out_history_phone ON opt_out_history (phone, id);
   CREATE INDEX opt_out_history_source ON opt_out_history (source, phone);
   CREATE FUNCTION opt_out_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION 'the opt-out history is append-only'; END $$;
   CREATE TRIGGER opt_out_history_no_change BEFORE UPDATE OR DELETE ON opt_out_history
     FOR EACH ROW EXECUTE FUNCTION opt_out_history_append_only();
   CREATE TRIGGER opt_out_history_no_truncate BEFORE TRUNCATE ON opt_out_history
     FOR EACH STATEMENT EXECUTE FUNCTION opt_out_history_append_only();

   -- the opted-out count, kept once a statement from its transition tables (an import of a million
   -- numbers updates it once), and only when it changes, so that its row is locked only then
   CREATE TABLE opt_out_count (
     id integer PRIMARY KEY CHECK (id = 1),
     opted_out bigint NOT NULL
   );
   INSERT INTO opt_out_count (id, opted_out) VALUES (1, 0);
   CREATE FUNCTION opt_out_count_inserted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
     DECLARE delta bigint;
     BEGIN
       SELECT count(*) INTO delta FROM new_rows WHERE status = 'opted-out';
       IF delta <> 0 THEN UPDATE opt_out_count SET opted_out = opted_out + delta WHERE id = 1; END IF;
       RETURN NULL;
     END $$;
   CREATE FUNCTION opt_out_count_updated() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
     DECLARE delta bigint;
     BEGIN
       SELECT (SELECT count(*) FROM new_rows WHERE status = 'opted-out') - (SELECT count(*) FROM old_rows WHERE status = 'opted-out') INTO delta;
       IF delta <> 0 THEN UPDATE opt_out_count SET opted_out = opted_out + delta WHERE id = 1; END IF;
       RETURN NULL;
     END $$;
   CREATE FUNCTION opt_out_count_deleted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
     DECLARE delta bigint;
     BEGIN
       SELECT count(*) INTO delta FROM old_rows WHERE status = 'opted-out';
       IF delta <> 0 THEN UPDATE opt_out_count SET opted_out = opted_out - delta WHERE id = 1; END IF;
       RETURN NULL;
     END $$;
   CREATE FUNCTION opt_out_count_truncated() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
     BEGIN UPDATE opt_out_count SET opted_out = 0 WHERE id = 1; RETURN NULL; END $$;
   CREATE TRIGGER opt_out_count_insert AFTER INSERT ON opt_out REFERENCING NEW TABLE AS new_rows
     FOR EACH STATEMENT EXECUTE FUNCTION opt_out_count_inserted();
   CREATE TRIGGER opt_out_count_update AFTER UPDATE ON opt_out REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
     FOR EACH STATEMENT EXECUTE FUNCTION opt_out_count_updated();
   CREATE TRIGGER opt_out_count_delete AFTER DELETE ON opt_out REFERENCING OLD TABLE AS old_rows
     FOR EACH STATEMENT EXECUTE FUNCTION opt_out_count_deleted();
   CREATE TRIGGER opt_out_count_truncate AFTER TRUNCATE ON opt_out
     FOR EACH STATEMENT EXECUTE FUNCTION opt_out_count_truncated();

   -- conversations, one active a customer and conversation name; deadlines and codes live here too
   CREATE TABLE conversation (
     name text NOT NULL,
     key text NOT NULL,
     step text NOT NULL,
     data text NOT NULL,
     started_at bigint NOT NULL,
     updated_at bigint NOT NULL,
     expires_at bigint NOT NULL,
     deadline_at bigint,
     revision integer NOT NULL,
     last_sid text,
     code_hash text,
     code_salt text,
     code_expires_at bigint,
     code_attempts_left integer,
     PRIMARY KEY (name, key)
   );
   CREATE INDEX conversation_deadline ON conversation (name, deadline_at) WHERE deadline_at IS NOT NULL;
   CREATE INDEX conversation_expiry ON conversation (expires_at);
   -- what a conversation node did with an inbound SMS, so that a replay of it does the same again
   CREATE TABLE sms_outcome (
     replay_key text PRIMARY KEY,
     outcome text NOT NULL,
     at bigint NOT NULL
   );
   CREATE INDEX sms_outcome_at ON sms_outcome (at);

   -- the sandbox phone's threads: what a sandbox account "sent", and what the customer replied
   CREATE TABLE sandbox_message (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     account text NOT NULL,
     phone text NOT NULL,
     direction text NOT NULL CHECK (direction IN ('out', 'in')),
     body text NOT NULL,
     sid text NOT NULL,
     status text NOT NULL,
     detail text,
     segments integer,
     encoding text,
     at bigint NOT NULL
   );
   CREATE INDEX sandbox_thread ON sandbox_message (account, phone, id);

   -- the outbox: sends waiting for the rate limit or a retry, one being asked of Exotel right now
   -- ('sending': after a crash nobody knows whether it went), and the ones that failed for good
   CREATE TABLE outbox (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     node_id text NOT NULL,
     phone text NOT NULL,
     request text NOT NULL,
     message text NOT NULL,
     claim_key text,
     confirmation boolean NOT NULL DEFAULT false,
     state text NOT NULL CHECK (state IN ('queued', 'sending', 'failed')),
     attempts integer NOT NULL DEFAULT 0,
     error text,
     created_at bigint NOT NULL,
     updated_at bigint NOT NULL
   );
   CREATE INDEX outbox_node ON outbox (node_id, state, id);`,
  `-- failed sends and send claims are deleted after the retention period: found by age
   CREATE INDEX send_claim_age ON send_claim (claimed_at);
   CREATE INDEX outbox_failed_age ON outbox (updated_at) WHERE state = 'failed';`,
  `-- several instances: each renews its lease here; what a dead one owned (unfinished inbound SMS,
   -- queued sends) is taken over by a live one once its lease ran out
   CREATE TABLE instance (
     id text PRIMARY KEY,
     lease_until bigint NOT NULL,
     started_at bigint NOT NULL
   );
   ALTER TABLE inbound ADD COLUMN owner text;
   ALTER TABLE outbox ADD COLUMN owner text;
   CREATE INDEX outbox_owner ON outbox (node_id, state, owner, id);
   -- the account's rate limit for the whole cluster: one row a request, held from the moment it may
   -- start until a window after it ended (or deleted at once when it never left)
   CREATE TABLE rate_slot (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     account text NOT NULL,
     owner text NOT NULL,
     taken_at bigint NOT NULL,
     ended_at bigint
   );
   CREATE INDEX rate_slot_account ON rate_slot (account, taken_at);`,
  `-- a promotional send outside TRAI's hours waits in the outbox until then (ms since the epoch; NULL: at once)
   ALTER TABLE outbox ADD COLUMN not_before bigint;`,
  `-- the send log: every SMS sent (found by CustomField, SmsSid, number; listed newest first by id),
   -- and Exotel's delivery reports, each SmsSid and Status once, marked once handed to the flow
   CREATE TABLE send_log (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     custom_field text NOT NULL UNIQUE,
     sid text,
     node_id text NOT NULL,
     account text NOT NULL,
     phone text NOT NULL,
     body text NOT NULL,
     template_id text,
     message text NOT NULL,
     state text NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
     error text,
     exotel_status text,
     delivery text CHECK (delivery IN ('pending', 'delivered', 'failed')),
     detail text,
     code text,
     units integer,
     created_at bigint NOT NULL,
     updated_at bigint NOT NULL,
     reported_at bigint
   );
   CREATE INDEX send_log_sid ON send_log (sid) WHERE sid IS NOT NULL;
   CREATE INDEX send_log_phone ON send_log (phone, id);
   CREATE INDEX send_log_age ON send_log (created_at);
   CREATE TABLE delivery_report (
     sid text NOT NULL,
     status text NOT NULL,
     node_id text,
     to_number text NOT NULL,
     delivery text NOT NULL,
     detailed_status text NOT NULL,
     detailed_status_code text NOT NULL,
     date_sent text,
     units integer,
     custom_field text NOT NULL,
     received_at bigint NOT NULL,
     handled boolean NOT NULL DEFAULT false,
     PRIMARY KEY (sid, status)
   );
   CREATE INDEX delivery_report_unhandled ON delivery_report (node_id, received_at) WHERE NOT handled;
   CREATE INDEX delivery_report_age ON delivery_report (received_at);`,
  `-- the operators' view: the log newest first and by number, duplicates counted, who changed an
   -- opt-out by hand, and what a customer's data request finds by number
   ALTER TABLE inbound ADD COLUMN duplicates integer NOT NULL DEFAULT 0;
   CREATE INDEX inbound_log ON inbound (recorded_at, sid);
   CREATE INDEX inbound_number ON inbound (from_number, recorded_at, sid);
   ALTER TABLE opt_out_history ADD COLUMN by_user text;
   CREATE INDEX opt_out_recent ON opt_out (status, updated_at, phone);
   CREATE INDEX opt_out_changed ON opt_out (updated_at, phone);
   CREATE INDEX conversation_started ON conversation (started_at, name, key);
   CREATE INDEX conversation_key ON conversation (key);
   CREATE INDEX outbox_recent ON outbox (state, created_at, id);
   CREATE INDEX outbox_created ON outbox (created_at, id);
   CREATE INDEX outbox_phone ON outbox (phone);
   CREATE INDEX sandbox_phone ON sandbox_message (phone);
   CREATE INDEX send_log_recent ON send_log (created_at, id);
   CREATE INDEX send_log_number ON send_log (phone, created_at, id);
   CREATE INDEX delivery_report_to ON delivery_report (to_number);`,
  `-- a customer's SMS in arrival order whichever instance received them: seq is the order they were
   -- recorded in, turn_at when one was handed to the flow (the database's clock), done when the flow
   -- finished with it. An SMS is handed on only when no other of that number on that webhook is in
   -- the flow (for at most hold_ms) and none recorded before it waits, or died with its instance.
   ALTER TABLE inbound ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
   ALTER TABLE inbound ADD COLUMN turn_at bigint;
   ALTER TABLE inbound ADD COLUMN done boolean NOT NULL DEFAULT false;
   CREATE INDEX inbound_turn ON inbound (endpoint, from_number, seq) WHERE NOT handled AND NOT done;
   CREATE FUNCTION inbound_turns(take text[], forced text[], finished text[], hold_ms bigint) RETURNS SETOF text
     LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
     DECLARE
       now_ms bigint := (extract(epoch from clock_timestamp()) * 1000)::bigint;
       r record;
     BEGIN
       IF cardinality(finished) > 0 THEN UPDATE inbound SET done = true WHERE sid = ANY(finished) AND NOT done; END IF;
       IF cardinality(forced) > 0 THEN
         RETURN QUERY UPDATE inbound SET turn_at = now_ms WHERE sid = ANY(forced) RETURNING sid;
       END IF;
       IF cardinality(take) = 0 THEN RETURN; END IF;
       -- one instance at a time decides a number's turn (in key order: two instances never wait on each other)
       PERFORM pg_advisory_xact_lock(5, k.h)
         FROM (SELECT DISTINCT hashtext(endpoint || ' ' || from_number) AS h FROM inbound WHERE sid = ANY(take) ORDER BY 1) k;
       -- each statement from here on sees what the instance that held the lock before committed
       FOR r IN SELECT sid, endpoint, from_number, seq FROM inbound WHERE sid = ANY(take) ORDER BY seq LOOP
         IF NOT EXISTS (SELECT 1 FROM inbound e
             WHERE e.endpoint = r.endpoint AND e.from_number = r.from_number AND e.sid <> r.sid AND NOT e.handled AND NOT e.done
               AND (e.turn_at > now_ms - hold_ms
                 OR (e.seq < r.seq AND (e.turn_at IS NULL
                   OR NOT EXISTS (SELECT 1 FROM instance i WHERE i.id = e.owner AND i.lease_until > now_ms))))) THEN
           UPDATE inbound SET turn_at = now_ms WHERE sid = r.sid;
           RETURN NEXT r.sid;
         END IF;
       END LOOP;
     END $$;
   -- the number's one opt-out confirmation, claimed and not yet queued: the instance holding it (null
   -- once queued). A claim whose instance died before queuing it may be taken again
   ALTER TABLE opt_out ADD COLUMN confirmation_owner text;
   -- each instance's copy of the opted-out numbers in memory (opt-out-mirror.ts): every change is
   -- numbered and notified; a change is acknowledged to the flow only once every live instance that
   -- keeps a copy has seen it (opt_out_seen), so that no send started after it reads an old answer
   CREATE SEQUENCE opt_out_change;
   ALTER TABLE instance ADD COLUMN mirror boolean NOT NULL DEFAULT false;
   ALTER TABLE instance ADD COLUMN opt_out_seen bigint NOT NULL DEFAULT 0;`,
  `-- callbacks an SMS in node refused (a few a minute an endpoint, a line for the rest of a flood),
   -- read newest first and by sender in the SMS tab's log, deleted after the retention period
   CREATE TABLE inbound_refusal (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     endpoint text NOT NULL,
     account_sid text NOT NULL,
     at bigint NOT NULL,
     status integer NOT NULL,
     code text NOT NULL,
     reason text NOT NULL,
     from_number text,
     body text,
     sid text,
     remote text,
     dropped integer NOT NULL DEFAULT 0
   );
   CREATE INDEX inbound_refusal_log ON inbound_refusal (at, id);
   CREATE INDEX inbound_refusal_number ON inbound_refusal (from_number, at, id) WHERE from_number IS NOT NULL;`,
  `-- a delivery report not yet handed on belongs to the instance that recorded it (owner), and is taken
   -- over by another once that one's lease ran out, by one instance (FOR UPDATE SKIP LOCKED). Reports
   -- recorded before have none: whichever instance claims them first hands them on
   ALTER TABLE delivery_report ADD COLUMN owner text;
   DROP INDEX delivery_report_unhandled;
   CREATE INDEX delivery_report_unhandled ON delivery_report (node_id, received_at, sid) WHERE NOT handled;`,
  `-- the conversation route's read in one round trip: with a replay key, the answer remembered for it,
   -- or the conversation (locked as every change locks it; an expired one deleted on sight) remembered
   -- as its row (row_to_json: the data request finds it by "key":"<number>"); 'null' when none. The
   -- advisory locks are connection.ts's LOCK_REPLAY (2) and LOCK_CONVERSATION (1)
   CREATE FUNCTION conversation_read(p_name text, p_key text, p_replay text, p_now bigint, OUT was_replayed boolean, OUT answer text)
     LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
     DECLARE
       c conversation%ROWTYPE;
     BEGIN
       was_replayed := false;
       IF p_replay IS NOT NULL THEN
         PERFORM pg_advisory_xact_lock(2, hashtext(p_replay));
         SELECT o.outcome INTO answer FROM sms_outcome o WHERE o.replay_key = p_replay;
         IF FOUND THEN
           was_replayed := true;
           RETURN;
         END IF;
       END IF;
       PERFORM pg_advisory_xact_lock(1, hashtext(p_name || chr(10) || p_key));
       SELECT * INTO c FROM conversation t WHERE t.name = p_name AND t.key = p_key FOR UPDATE;
       IF NOT FOUND THEN
         answer := 'null';
       ELSIF c.expires_at <= p_now THEN
         DELETE FROM conversation t WHERE t.name = p_name AND t.key = p_key;
         answer := 'null';
       ELSE
         answer := row_to_json(c)::text;
       END IF;
       IF p_replay IS NOT NULL THEN
         INSERT INTO sms_outcome (replay_key, outcome, at) VALUES (p_replay, answer, p_now);
       END IF;
     END $$;`,
  `-- a send's attempt key (the send node makes one a send): when the answer to a call is lost after
   -- it committed (the connection dropped) and the call is made again, the same key finds the outbox
   -- entry, or the opt-out confirmation claim, it made, instead of taking it for another's and
   -- leaving it queued with nobody to send it
   ALTER TABLE outbox ADD COLUMN attempt text;
   CREATE UNIQUE INDEX outbox_attempt ON outbox (attempt);
   ALTER TABLE opt_out ADD COLUMN confirmation_attempt text;`,
  `-- every change of a number's opt-out status, however it is made (by an instance, or by SQL typed by
   -- hand), is numbered and notified by the database itself, once a statement, so that every instance's
   -- copy in memory drops the old answer (opt-out-mirror.ts listens on the channel). Over a hundred
   -- numbers in one statement: '*', every copy loads again. The change's number is kept for its
   -- transaction (exotel_sms.opt_out_change): an instance's own change waits until every copy saw it.
   -- The lock is connection.ts's LOCK_OPT_OUT_CHANGE (6): changes are numbered in commit order
   CREATE FUNCTION opt_out_notify() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
     DECLARE
       phones text[];
       change bigint;
     BEGIN
       IF TG_OP = 'TRUNCATE' THEN
         phones := ARRAY['*'];
       ELSIF TG_OP = 'INSERT' THEN
         SELECT array_agg(phone) INTO phones FROM new_rows;
       ELSIF TG_OP = 'DELETE' THEN
         SELECT array_agg(phone) INTO phones FROM old_rows;
       ELSE
         SELECT array_agg(DISTINCT phone) INTO phones FROM (
           (SELECT phone, status FROM new_rows EXCEPT SELECT phone, status FROM old_rows)
           UNION ALL
           (SELECT phone, status FROM old_rows EXCEPT SELECT phone, status FROM new_rows)) c;
       END IF;
       IF phones IS NULL THEN RETURN NULL; END IF;
       IF cardinality(phones) > 100 THEN phones := ARRAY['*']; END IF;
       PERFORM pg_advisory_xact_lock(6, 0);
       change := nextval('opt_out_change');
       PERFORM pg_notify('exotel_sms_opt_out_' || TG_TABLE_SCHEMA, change || ' ' || array_to_string(phones, ' '));
       PERFORM set_config('exotel_sms.opt_out_change', change::text, true);
       RETURN NULL;
     END $$;
   CREATE TRIGGER opt_out_notify_insert AFTER INSERT ON opt_out REFERENCING NEW TABLE AS new_rows
     FOR EACH STATEMENT EXECUTE FUNCTION opt_out_notify();
   CREATE TRIGGER opt_out_notify_update AFTER UPDATE ON opt_out REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
     FOR EACH STATEMENT EXECUTE FUNCTION opt_out_notify();
   CREATE TRIGGER opt_out_notify_delete AFTER DELETE ON opt_out REFERENCING OLD TABLE AS old_rows
     FOR EACH STATEMENT EXECUTE FUNCTION opt_out_notify();
   CREATE TRIGGER opt_out_notify_truncate AFTER TRUNCATE ON opt_out
     FOR EACH STATEMENT EXECUTE FUNCTION opt_out_notify();`,
  `-- the key of the rate limit's question that took a slot (the account node makes one a question):
   -- when its answer is lost after it committed, the question asked again with the same key gives
   -- back the slots the lost one took, which nobody was granted, instead of the window counting them
   -- until they expire (minutes without a send for every instance of the account)
   ALTER TABLE rate_slot ADD COLUMN attempt text;
   -- a step deadline taken by a timeout poll: the poll's key and the deadline it had, so that the poll
   -- asked again after its answer was lost fires the timeouts it took instead of none; any write of
   -- the conversation since (a reply) clears both, and the timeout it cancelled does not fire
   ALTER TABLE conversation ADD COLUMN deadline_taken text;
   ALTER TABLE conversation ADD COLUMN taken_deadline_at bigint;
   CREATE INDEX conversation_deadline_taken ON conversation (name, deadline_taken) WHERE deadline_taken IS NOT NULL;`,
  `-- the key of the call that made a row this instance's: a take-over claim (the inbound SMS, outbox
   -- entries and delivery reports a dead instance left). When a claim's answer is lost after it
   -- committed (the connection dropped), its rows are this instance's, and a later claim, which takes
   -- dead instances' rows only, would leave them with nobody to hand them on until this instance
   -- stops: the next claim passes the same key and takes them again. A delivery report's is first the
   -- key of the call that recorded it: when that answer is lost (Exotel is answered 503, and its retry
   -- finds the report recorded), the receiver finds by it what it recorded and hands it on. An outbox
   -- entry's is also the key of the SMS tab's request that queued it again after it failed: asked
   -- again, that request finds the entry it queued, not one that is no longer failed
   ALTER TABLE inbound ADD COLUMN taken_in text;
   ALTER TABLE outbox ADD COLUMN taken_in text;
   ALTER TABLE delivery_report ADD COLUMN taken_in text;`,
  `-- the conversation route's reads that arrive together, one statement for all of them (each as
   -- conversation_read answers it, in the order given). Every lock is taken first, in one order for
   -- every caller (the replay keys', then the conversations', each by its hash), and conversation_read
   -- takes the ones it holds already: two reads of several never wait for each other in a cycle
   CREATE FUNCTION conversation_read_many(p_names text[], p_keys text[], p_replays text[], p_now bigint)
     RETURNS TABLE (n integer, outcome text)
     LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
     DECLARE
       h integer;
     BEGIN
       FOR h IN SELECT DISTINCT hashtext(r) FROM unnest(p_replays) r WHERE r IS NOT NULL ORDER BY 1 LOOP
         PERFORM pg_advisory_xact_lock(2, h);
       END LOOP;
       FOR h IN SELECT DISTINCT hashtext(c.name || chr(10) || c.key) FROM unnest(p_names, p_keys) AS c(name, key) ORDER BY 1 LOOP
         PERFORM pg_advisory_xact_lock(1, h);
       END LOOP;
       FOR i IN 1 .. cardinality(p_names) LOOP
         n := i;
         outcome := (SELECT r.answer FROM conversation_read(p_names[i], p_keys[i], p_replays[i], p_now) r);
         RETURN NEXT;
       END LOOP;
     END $$;`,
  `-- the account's rate slots an instance's waiting sends ask for, in one statement instead of a
   -- transaction of five round trips: under the account's lock (connection.ts's LOCK_RATE, 4), the
   -- slots whose window is over (and those the same question took before its answer was lost) go,
   -- then a fair share of the free ones (the free ones over the live instances, rounded up) is taken.
   -- wait_ms: when to ask for the rest (20 ms to 1 s)
   CREATE FUNCTION rate_take(p_account text, p_window bigint, p_hold bigint, p_attempt text, p_owner text,
       p_per_minute integer, p_wanted integer, OUT wait_ms integer, OUT slots bigint[])
     LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
     DECLARE
       now_ms bigint;
       held integer;
       next_free bigint;
       live integer;
       free integer;
       granted integer;
     BEGIN
       PERFORM pg_advisory_xact_lock(4, hashtext(p_account));
       now_ms := (extract(epoch from clock_timestamp()) * 1000)::bigint;
       DELETE FROM rate_slot s WHERE s.account = p_account
         AND (s.ended_at < now_ms - p_window OR (s.ended_at IS NULL AND s.taken_at < now_ms - p_window - p_hold)
           OR (s.attempt = p_attempt AND s.owner = p_owner));
       SELECT count(*)::int, min(s.ended_at) + p_window INTO held, next_free FROM rate_slot s WHERE s.account = p_account;
       SELECT count(*)::int INTO live FROM instance i WHERE i.lease_until > now_ms;
       free := p_per_minute - held;
       granted := greatest(0, least(p_wanted, free, ceil(free::numeric / greatest(1, live))::integer));
       wait_ms := CASE WHEN next_free IS NULL THEN 1000 ELSE least(1000, greatest(20, next_free - now_ms))::integer END;
       slots := '{}';
       IF granted > 0 THEN
         WITH taken AS (
           INSERT INTO rate_slot (account, owner, taken_at, attempt)
           SELECT p_account, p_owner, now_ms, p_attempt FROM generate_series(1, granted) RETURNING id)
         SELECT array_agg(id ORDER BY id) INTO slots FROM taken;
       END IF;
     END $$;`,
];
