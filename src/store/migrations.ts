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
];
