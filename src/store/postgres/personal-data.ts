// A customer's data request: everything held about one number, and its erasure, which keeps the
// opt-out record and its history (the proof that the customer asked not to be sent to).
import type { ErasedNumber, NumberData, OptOutChange, PersonalData, SandboxMessage } from '../store';
import { toConversation, type ConversationRow } from '../shared/conversations';
import { toRefusal, type RefusalRow } from '../shared/refusals';
import { outcomePattern, toLogLine, toOptOut, toOutbox, toSendLogEntry, type InboundLogRow, type OptOutRow, type OutboxRow, type SendLogRow } from '../shared/rows';
import type { PostgresDatabase } from './connection';

export class PostgresPersonalData implements PersonalData {
  constructor(private readonly db: PostgresDatabase) {}

  async numberData(phone: string): Promise<NumberData> {
    return this.db.transaction(async (tx): Promise<NumberData> => {
      const rows = async <R extends object>(sql: string) => (await tx.query<R & Record<string, unknown>>(sql, [phone])).rows as R[];
      const optOut = await rows<OptOutRow>('SELECT phone, status, keyword, source, updated_at FROM opt_out WHERE phone = $1');
      return {
        phone,
        optOut: optOut.length ? toOptOut(optOut[0]) : null,
        optOutHistory: await rows<OptOutChange & { at: number }>('SELECT phone, status, keyword, source, at, by_user AS "by" FROM opt_out_history WHERE phone = $1 ORDER BY id'),
        inbound: (await rows<InboundLogRow>('SELECT * FROM inbound WHERE from_number = $1 ORDER BY recorded_at, sid')).map(toLogLine),
        conversations: (await rows<ConversationRow>('SELECT * FROM conversation WHERE key = $1 ORDER BY started_at')).map((row) => ({ ...toConversation(row), code: null })),
        outbox: (await rows<OutboxRow>('SELECT * FROM outbox WHERE phone = $1 ORDER BY id')).map(toOutbox),
        sandbox: await rows<SandboxMessage>(
          'SELECT id, account, phone, direction, body, sid, status, detail, segments, encoding, at FROM sandbox_message WHERE phone = $1 ORDER BY id',
        ),
        sent: (await rows<SendLogRow>('SELECT * FROM send_log WHERE phone = $1 ORDER BY created_at, id')).map(toSendLogEntry),
        refused: (await rows<RefusalRow>('SELECT * FROM inbound_refusal WHERE from_number = $1 ORDER BY at, id')).map(toRefusal),
      };
    });
  }

  async eraseNumber(phone: string): Promise<ErasedNumber> {
    const { outcomes, claims } = outcomePattern(phone);
    return this.db.transaction(async (tx): Promise<ErasedNumber> => {
      const erase = async (sql: string, value: string = phone) => (await tx.query(sql, [value])).rowCount ?? 0;
      return {
        inbound: await erase('DELETE FROM inbound WHERE from_number = $1'),
        conversations: await erase('DELETE FROM conversation WHERE key = $1'),
        outbox: await erase('DELETE FROM outbox WHERE phone = $1'),
        sandbox: await erase('DELETE FROM sandbox_message WHERE phone = $1'),
        sent: await erase('DELETE FROM send_log WHERE phone = $1'),
        refused: await erase('DELETE FROM inbound_refusal WHERE from_number = $1'),
        other:
          (await erase('DELETE FROM sms_outcome WHERE outcome LIKE $1', outcomes)) +
          (await erase('DELETE FROM send_claim WHERE claim_key LIKE $1', claims)) +
          (await erase('DELETE FROM delivery_report WHERE to_number = $1')),
      };
    });
  }
}
