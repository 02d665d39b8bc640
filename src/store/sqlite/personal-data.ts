// A customer's data request: everything held about one number, and its erasure, which keeps the
// opt-out record and its history (the proof that the customer asked not to be sent to).
import type Database from 'better-sqlite3';
import type { ErasedNumber, NumberData, OptOutChange, PersonalData, SandboxMessage } from '../store';
import { toConversation, type ConversationRow } from '../shared/conversations';
import { toRefusal, type RefusalRow } from '../shared/refusals';
import { outcomePattern, toLogLine, toOptOut, toOutbox, toSendLogEntry, type InboundLogRow, type OptOutRow, type OutboxRow, type SendLogRow } from '../shared/rows';

export class SqlitePersonalData implements PersonalData {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      optOut: db.prepare('SELECT phone, status, keyword, source, updated_at FROM opt_out WHERE phone = ?'),
      history: db.prepare('SELECT phone, status, keyword, source, at, by_user AS "by" FROM opt_out_history WHERE phone = ? ORDER BY id'),
      inbound: db.prepare('SELECT * FROM inbound WHERE from_number = ? ORDER BY recorded_at, sid'),
      conversations: db.prepare('SELECT * FROM conversation WHERE key = ? ORDER BY started_at'),
      outbox: db.prepare('SELECT * FROM outbox WHERE phone = ? ORDER BY id'),
      sandbox: db.prepare('SELECT * FROM sandbox_message WHERE phone = ? ORDER BY id'),
      sent: db.prepare('SELECT * FROM send_log WHERE phone = ? ORDER BY created_at, id'),
      refused: db.prepare('SELECT * FROM inbound_refusal WHERE from_number = ? ORDER BY at, id'),
      eraseInbound: db.prepare('DELETE FROM inbound WHERE from_number = ?'),
      eraseConversations: db.prepare('DELETE FROM conversation WHERE key = ?'),
      eraseOutbox: db.prepare('DELETE FROM outbox WHERE phone = ?'),
      eraseSandbox: db.prepare('DELETE FROM sandbox_message WHERE phone = ?'),
      eraseSent: db.prepare('DELETE FROM send_log WHERE phone = ?'),
      eraseRefused: db.prepare('DELETE FROM inbound_refusal WHERE from_number = ?'),
      eraseReports: db.prepare('DELETE FROM delivery_report WHERE to_number = ?'),
      eraseOutcomes: db.prepare("DELETE FROM sms_outcome WHERE outcome LIKE ? ESCAPE '\\'"),
      eraseClaims: db.prepare("DELETE FROM send_claim WHERE claim_key LIKE ? ESCAPE '\\'"),
    };
  }

  async numberData(phone: string): Promise<NumberData> {
    const s = this.statements;
    return this.db.transaction((): NumberData => {
      const optOut = s.optOut.get(phone) as OptOutRow | undefined;
      return {
        phone,
        optOut: optOut ? toOptOut(optOut) : null,
        optOutHistory: s.history.all(phone) as Array<OptOutChange & { at: number }>,
        inbound: (s.inbound.all(phone) as InboundLogRow[]).map(toLogLine),
        conversations: (s.conversations.all(phone) as ConversationRow[]).map((row) => ({ ...toConversation(row), code: null })),
        outbox: (s.outbox.all(phone) as OutboxRow[]).map(toOutbox),
        sandbox: s.sandbox.all(phone) as SandboxMessage[],
        sent: (s.sent.all(phone) as SendLogRow[]).map(toSendLogEntry),
        refused: (s.refused.all(phone) as RefusalRow[]).map(toRefusal),
      };
    })();
  }

  async eraseNumber(phone: string): Promise<ErasedNumber> {
    const s = this.statements;
    return this.db.transaction((): ErasedNumber => {
      const { outcomes, claims } = outcomePattern(phone);
      return {
        inbound: s.eraseInbound.run(phone).changes,
        conversations: s.eraseConversations.run(phone).changes,
        outbox: s.eraseOutbox.run(phone).changes,
        sandbox: s.eraseSandbox.run(phone).changes,
        sent: s.eraseSent.run(phone).changes,
        refused: s.eraseRefused.run(phone).changes,
        other: s.eraseOutcomes.run(outcomes).changes + s.eraseClaims.run(claims).changes + s.eraseReports.run(phone).changes,
      };
    })();
  }
}
