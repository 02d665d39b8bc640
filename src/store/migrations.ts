// Schema migrations, in order; the database's PRAGMA user_version is the number applied.
// Never edit a released migration: add the next one.

export const MIGRATIONS: readonly string[] = [
  // 1: the inbound log (dedupe on SmsSid) and the one-send-per-inbound claims of send nodes
  `CREATE TABLE inbound (
     sid TEXT PRIMARY KEY,
     endpoint TEXT NOT NULL,
     from_number TEXT NOT NULL,
     to_number TEXT NOT NULL,
     body TEXT NOT NULL,
     received_at TEXT NOT NULL,
     account_sid TEXT NOT NULL,
     recorded_at INTEGER NOT NULL,
     handled INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID;
   CREATE INDEX inbound_unhandled ON inbound (endpoint, recorded_at) WHERE handled = 0;
   CREATE TABLE send_claim (
     node_id TEXT NOT NULL,
     claim_key TEXT NOT NULL,
     claimed_at INTEGER NOT NULL,
     PRIMARY KEY (node_id, claim_key)
   ) WITHOUT ROWID;`,
  // 2: opt-outs, one row a number, and their history, which is only ever appended to (the audit trail)
  `CREATE TABLE opt_out (
     phone TEXT PRIMARY KEY,
     status TEXT NOT NULL CHECK (status IN ('opted-in', 'opted-out')),
     keyword TEXT,
     source TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     confirmation_sent INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID;
   CREATE INDEX opt_out_opted_out ON opt_out (status) WHERE status = 'opted-out';
   CREATE TABLE opt_out_history (
     id INTEGER PRIMARY KEY,
     phone TEXT NOT NULL,
     status TEXT NOT NULL,
     keyword TEXT,
     source TEXT NOT NULL,
     at INTEGER NOT NULL
   );
   CREATE INDEX opt_out_history_phone ON opt_out_history (phone, id);
   CREATE INDEX opt_out_history_source ON opt_out_history (source, phone);
   CREATE TRIGGER opt_out_history_no_update BEFORE UPDATE ON opt_out_history
     BEGIN SELECT RAISE(ABORT, 'the opt-out history is append-only'); END;
   CREATE TRIGGER opt_out_history_no_delete BEFORE DELETE ON opt_out_history
     BEGIN SELECT RAISE(ABORT, 'the opt-out history is append-only'); END;`,
  // 3: conversations, one active a customer and conversation name; deadlines and codes live here too
  `CREATE TABLE conversation (
     name TEXT NOT NULL,
     key TEXT NOT NULL,
     step TEXT NOT NULL,
     data TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     deadline_at INTEGER,
     revision INTEGER NOT NULL,
     last_sid TEXT,
     code_hash TEXT,
     code_salt TEXT,
     code_expires_at INTEGER,
     code_attempts_left INTEGER,
     PRIMARY KEY (name, key)
   ) WITHOUT ROWID;
   CREATE INDEX conversation_deadline ON conversation (name, deadline_at) WHERE deadline_at IS NOT NULL;
   CREATE INDEX conversation_expiry ON conversation (expires_at);`,
  // 4: the sandbox phone's threads: what a sandbox account "sent", and what the customer replied
  `CREATE TABLE sandbox_message (
     id INTEGER PRIMARY KEY,
     account TEXT NOT NULL,
     phone TEXT NOT NULL,
     direction TEXT NOT NULL CHECK (direction IN ('out', 'in')),
     body TEXT NOT NULL,
     sid TEXT NOT NULL,
     status TEXT NOT NULL,
     detail TEXT,
     segments INTEGER,
     encoding TEXT,
     at INTEGER NOT NULL
   );
   CREATE INDEX sandbox_thread ON sandbox_message (account, phone, id);`,
  // 5: what a conversation node did with an inbound SMS, so that a replay of it does the same again
  `CREATE TABLE sms_outcome (
     replay_key TEXT PRIMARY KEY,
     outcome TEXT NOT NULL,
     at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX sms_outcome_at ON sms_outcome (at);`,
  // 6: the outbox: sends waiting for the rate limit or a retry, one being asked of Exotel right now
  // ('sending': after a crash nobody knows whether it went), and the ones that failed for good
  `CREATE TABLE outbox (
     id INTEGER PRIMARY KEY,
     node_id TEXT NOT NULL,
     phone TEXT NOT NULL,
     request TEXT NOT NULL,
     message TEXT NOT NULL,
     claim_key TEXT,
     confirmation INTEGER NOT NULL DEFAULT 0,
     state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'failed')),
     attempts INTEGER NOT NULL DEFAULT 0,
     error TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX outbox_node ON outbox (node_id, state, id);`,
  // 7: the opted-out count, kept by triggers as opt_out changes, so that reading it costs nothing
  // (counting a million opt-outs held up the event loop on every start); counted once, here
  `CREATE TABLE opt_out_count (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     opted_out INTEGER NOT NULL
   );
   INSERT INTO opt_out_count (id, opted_out) SELECT 1, COUNT(*) FROM opt_out WHERE status = 'opted-out';
   CREATE TRIGGER opt_out_count_insert AFTER INSERT ON opt_out WHEN NEW.status = 'opted-out'
     BEGIN UPDATE opt_out_count SET opted_out = opted_out + 1 WHERE id = 1; END;
   CREATE TRIGGER opt_out_count_update AFTER UPDATE OF status ON opt_out WHEN OLD.status IS NOT NEW.status
     BEGIN UPDATE opt_out_count SET opted_out = opted_out + (NEW.status = 'opted-out') - (OLD.status = 'opted-out') WHERE id = 1; END;
   CREATE TRIGGER opt_out_count_delete AFTER DELETE ON opt_out WHEN OLD.status = 'opted-out'
     BEGIN UPDATE opt_out_count SET opted_out = opted_out - 1 WHERE id = 1; END;`,
  // 8: failed sends and send claims are deleted after the retention period: found by age
  `CREATE INDEX send_claim_age ON send_claim (claimed_at);
   CREATE INDEX outbox_failed_age ON outbox (updated_at) WHERE state = 'failed';`,
  // 9: a promotional send outside TRAI's hours waits in the outbox until then (ms since the epoch; NULL: at once)
  `ALTER TABLE outbox ADD COLUMN not_before INTEGER;`,
  // 10: the send log: every SMS sent (found by CustomField, SmsSid, number; listed newest first by id),
  // and Exotel's delivery reports, each SmsSid and Status once, marked once handed to the flow
  `CREATE TABLE send_log (
     id INTEGER PRIMARY KEY,
     custom_field TEXT NOT NULL UNIQUE,
     sid TEXT,
     node_id TEXT NOT NULL,
     account TEXT NOT NULL,
     phone TEXT NOT NULL,
     body TEXT NOT NULL,
     template_id TEXT,
     message TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
     error TEXT,
     exotel_status TEXT,
     delivery TEXT CHECK (delivery IN ('pending', 'delivered', 'failed')),
     detail TEXT,
     code TEXT,
     units INTEGER,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     reported_at INTEGER
   );
   CREATE INDEX send_log_sid ON send_log (sid) WHERE sid IS NOT NULL;
   CREATE INDEX send_log_phone ON send_log (phone, id);
   CREATE INDEX send_log_age ON send_log (created_at);
   CREATE TABLE delivery_report (
     sid TEXT NOT NULL,
     status TEXT NOT NULL,
     node_id TEXT,
     to_number TEXT NOT NULL,
     delivery TEXT NOT NULL,
     detailed_status TEXT NOT NULL,
     detailed_status_code TEXT NOT NULL,
     date_sent TEXT,
     units INTEGER,
     custom_field TEXT NOT NULL,
     received_at INTEGER NOT NULL,
     handled INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (sid, status)
   ) WITHOUT ROWID;
   CREATE INDEX delivery_report_unhandled ON delivery_report (node_id, received_at) WHERE handled = 0;
   CREATE INDEX delivery_report_age ON delivery_report (received_at);`,
  // 11: the operators' view: the log newest first and by number, duplicates counted, who changed an
  // opt-out by hand, and what a customer's data request finds by number
  `ALTER TABLE inbound ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;
   CREATE INDEX inbound_log ON inbound (recorded_at, sid);
   CREATE INDEX inbound_number ON inbound (from_number, recorded_at, sid);
   ALTER TABLE opt_out_history ADD COLUMN by_user TEXT;
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
  // 12: callbacks an SMS in node refused (a few a minute an endpoint, a line for the rest of a flood),
  // read newest first and by sender in the SMS tab's log, deleted after the retention period
  `CREATE TABLE inbound_refusal (
     id INTEGER PRIMARY KEY,
     endpoint TEXT NOT NULL,
     account_sid TEXT NOT NULL,
     at INTEGER NOT NULL,
     status INTEGER NOT NULL,
     code TEXT NOT NULL,
     reason TEXT NOT NULL,
     from_number TEXT,
     body TEXT,
     sid TEXT,
     remote TEXT,
     dropped INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX inbound_refusal_log ON inbound_refusal (at, id);
   CREATE INDEX inbound_refusal_number ON inbound_refusal (from_number, at, id) WHERE from_number IS NOT NULL;`,
  // 13: a send's attempt key (the send node makes one a send): the same call asked again finds the
  // entry, or the opt-out confirmation claim, it made, and is not told it is somebody else's
  `ALTER TABLE outbox ADD COLUMN attempt TEXT;
   CREATE UNIQUE INDEX outbox_attempt ON outbox (attempt) WHERE attempt IS NOT NULL;
   ALTER TABLE opt_out ADD COLUMN confirmation_attempt TEXT;`,
  // 14: the key of the call that recorded a delivery report, or queued a failed send again (the SMS
  // tab): a call asked again finds what it did (the same as on PostgreSQL, where an answer can be
  // lost after the commit)
  `ALTER TABLE delivery_report ADD COLUMN taken_in TEXT;
   ALTER TABLE outbox ADD COLUMN taken_in TEXT;`,
];
