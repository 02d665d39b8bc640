// What both backends do alike with a conversation: its row and record, what a start, an update, an
// end and a code check make of it, and telling listeners of each committed change. Reading, locking
// and writing the rows (and the remembered outcomes of inbound SMS) stays with each backend.
import { EventEmitter } from 'node:events';
import type { CodeCheck, ConversationRecord, ConversationStart, ConversationUpdate } from '../store';

export interface ConversationRow {
  name: string;
  key: string;
  step: string;
  data: string;
  started_at: number;
  updated_at: number;
  expires_at: number;
  deadline_at: number | null;
  revision: number;
  last_sid: string | null;
  code_hash: string | null;
  code_salt: string | null;
  code_expires_at: number | null;
  code_attempts_left: number | null;
}

export function toConversation(row: ConversationRow): ConversationRecord {
  return {
    name: row.name,
    key: row.key,
    step: row.step,
    data: JSON.parse(row.data) as Record<string, unknown>,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    deadlineAt: row.deadline_at,
    revision: row.revision,
    code:
      row.code_hash && row.code_salt && row.code_expires_at !== null && row.code_attempts_left !== null
        ? { hash: row.code_hash, salt: row.code_salt, expiresAt: row.code_expires_at, attemptsLeft: row.code_attempts_left }
        : null,
  };
}

/** How long the outcome of an inbound SMS is remembered for replays. */
const OUTCOME_DAYS = 7;

/** Outcomes remembered at or before this time may go: Exotel stops retrying a callback after about 13 minutes. */
export function outcomesBefore(now: number): number {
  return now - OUTCOME_DAYS * 86_400_000;
}

/** How many recent inbound SmsSids a conversation remembers, to ignore a replayed SMS. */
const RECENT_SIDS = 16;

function recentSids(row: ConversationRow): string[] {
  return row.last_sid ? (JSON.parse(row.last_sid) as string[]) : [];
}

/** Whether the conversation has already seen this inbound SMS (a replay changes nothing). */
export function sawSms(row: ConversationRow, sid: string | null | undefined): boolean {
  return !!sid && recentSids(row).includes(sid);
}

/** The row a start writes over the active one (if any). */
export function startedRow(start: ConversationStart, existing: ConversationRow | undefined, now: number): ConversationRow {
  return {
    name: start.name,
    key: start.key,
    step: start.step,
    data: JSON.stringify(start.data ?? {}),
    started_at: now,
    updated_at: now,
    expires_at: now + start.maxAgeMs,
    deadline_at: start.timeoutMs ? now + start.timeoutMs : null,
    revision: (existing?.revision ?? 0) + 1,
    last_sid: start.sid ? JSON.stringify([start.sid]) : null,
    code_hash: start.code?.hash ?? null,
    code_salt: start.code?.salt ?? null,
    code_expires_at: start.code ? now + start.code.lifetimeMs : null,
    code_attempts_left: start.code ? start.code.attempts : null,
  };
}

/** The row an update writes: the step moved, the data merged, the deadline set, kept or cleared. */
export function updatedRow(row: ConversationRow, update: ConversationUpdate, now: number): ConversationRow {
  const stepChanges = update.step !== undefined && update.step !== row.step;
  let deadline = row.deadline_at;
  if (update.timeoutMs === null) deadline = null;
  else if (update.timeoutMs !== undefined) deadline = now + update.timeoutMs;
  else if (stepChanges) deadline = null;
  return {
    ...row,
    step: update.step ?? row.step,
    data: update.data ? JSON.stringify({ ...(JSON.parse(row.data) as object), ...update.data }) : row.data,
    updated_at: now,
    deadline_at: deadline,
    revision: row.revision + 1,
    last_sid: update.sid ? JSON.stringify([...recentSids(row), update.sid].slice(-RECENT_SIDS)) : row.last_sid,
  };
}

/** The last state of an ended conversation (its row is deleted): no deadline, no code, `data` merged in. */
export function endedRecord(row: ConversationRow, now: number, data: Record<string, unknown> | undefined): ConversationRecord {
  const last = toConversation({ ...row, updated_at: now, deadline_at: null, code_hash: null, code_salt: null, code_expires_at: null, code_attempts_left: null });
  if (data) last.data = { ...last.data, ...data };
  return last;
}

/**
 * What a code check does to an active conversation: `keep` (no code: nothing changes), `end` (verified,
 * expired or too many attempts: the row is deleted) or `write` (a wrong code: one attempt fewer).
 */
export type CodeVerdict =
  | { action: 'keep'; check: CodeCheck }
  | { action: 'end'; check: CodeCheck }
  | { action: 'write'; check: CodeCheck; row: ConversationRow };

export function judgeCode(row: ConversationRow, now: number, matches: (hash: string, salt: string) => boolean): CodeVerdict {
  const conversation = toConversation(row);
  const code = conversation.code;
  if (!code) return { action: 'keep', check: { result: 'none', conversation } };
  const finish = (result: CodeCheck['result']): CodeVerdict => ({
    action: 'end',
    check: { result, conversation: { ...conversation, code: null, deadlineAt: null, updatedAt: now } },
  });
  if (now > code.expiresAt) return finish('expired');
  if (matches(code.hash, code.salt)) return finish('verified');
  const attemptsLeft = code.attemptsLeft - 1;
  if (attemptsLeft <= 0) return finish('too-many');
  const next: ConversationRow = { ...row, code_attempts_left: attemptsLeft, updated_at: now, revision: row.revision + 1 };
  return { action: 'write', check: { result: 'wrong', conversation: toConversation(next) }, row: next };
}

/** Tells listeners of each committed change to a conversation made in this process. */
export class ConversationChanges {
  private readonly events = new EventEmitter().setMaxListeners(0);

  protected changed(name: string, key: string): void {
    this.events.emit('change', name, key);
  }

  /** Calls back after every committed change made through this store (this process). */
  onConversationChange(listener: (name: string, key: string) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }
}

/** A conversation's id in a page cursor: its name and key, apart by a NUL (neither holds one). */
export function conversationId(name: string, key: string): string {
  return `${name}\u0000${key}`;
}

export function splitId(id: string): [string, string] {
  const at = id.indexOf('\u0000');
  return at < 0 ? [id, ''] : [id.slice(0, at), id.slice(at + 1)];
}
