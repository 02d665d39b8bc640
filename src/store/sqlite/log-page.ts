// One page of a log newest first by keyset (time, then id), never an OFFSET: the inbound log, the
// refused callbacks and the send log are read by the SMS tab through this one query builder.
import type { PageCursor } from '../store';
import { likePattern } from '../shared/rows';

export interface LogTable {
  table: string;
  /** the customer's number */
  phone: string;
  /** the columns a text search looks in */
  text: readonly string[];
  /** the account column, and the query's value for it */
  account: string;
  /** the time and the tie-breaker the index orders by */
  time: string;
  id: string;
  /** the tie-breaker is an integer (a cursor carries it as text) */
  numericId: boolean;
}

export interface LogPageQuery {
  phone?: string;
  text?: string;
  account?: string;
  since?: number;
  until?: number;
  after?: PageCursor | null;
  limit: number;
}

/** The statement (named parameters) and its parameters. */
export function logPageSql(t: LogTable, query: LogPageQuery): { sql: string; params: Record<string, unknown> } {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: query.limit };
  if (query.phone) {
    where.push(`${t.phone} = @phone`);
    params.phone = query.phone;
  }
  if (query.text) {
    where.push(`(${t.text.map((column) => `${column} LIKE @text ESCAPE '\\'`).join(' OR ')})`);
    params.text = likePattern(query.text);
  }
  if (query.account !== undefined) {
    where.push(`${t.account} = @account`);
    params.account = query.account;
  }
  if (query.since !== undefined) {
    where.push(`${t.time} >= @since`);
    params.since = query.since;
  }
  if (query.until !== undefined) {
    where.push(`${t.time} < @until`);
    params.until = query.until;
  }
  if (query.after) {
    where.push(`${t.time} <= @at AND (${t.time} < @at OR ${t.id} < @id)`);
    params.at = query.after.at;
    params.id = t.numericId ? Number(query.after.id) : query.after.id;
  }
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  return { sql: `SELECT * FROM ${t.table} ${filter} ORDER BY ${t.time} DESC, ${t.id} DESC LIMIT @limit`, params };
}
