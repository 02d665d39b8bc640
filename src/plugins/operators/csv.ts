// The opt-out list as a CSV file, the compliance officer's copy, and a CSV of numbers read back in.
// RFC 4180: fields with a comma, a quote or a line break are quoted, quotes doubled.
import type { OptOutRecord, OptStatus } from '../../store';

export const CSV_COLUMNS = ['phone', 'status', 'keyword', 'source', 'changed_at'] as const;

function field(value: string): string {
  // A leading = + - @ would run as a formula in a spreadsheet: kept as text by a leading quote.
  const safe = /^[=+\-@]/.test(value) && !/^\+[0-9]+$/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function optOutCsvLine(record: OptOutRecord): string {
  return [record.phone, record.status, record.keyword ?? '', record.source, new Date(record.updatedAt).toISOString()].map(field).join(',');
}

export function optOutCsv(records: OptOutRecord[]): string {
  return [CSV_COLUMNS.join(','), ...records.map(optOutCsvLine)].join('\r\n') + '\r\n';
}

/** The rows of a CSV text, each a list of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let value = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark (Excel's UTF-8 CSV)
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        value += '"';
        i++;
      } else if (c === '"') quoted = false;
      else value += c;
    } else if (c === '"') quoted = true;
    else if (c === ',' || c === ';' || c === '\t') {
      row.push(value);
      value = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(value);
      rows.push(row);
      row = [];
      value = '';
    } else value += c;
  }
  if (value !== '' || row.length) {
    row.push(value);
    rows.push(row);
  }
  return rows;
}

export interface CsvNumbers {
  /** numbers (as written) by the status their row asks for */
  byStatus: Map<OptStatus, Array<{ line: number; value: string }>>;
  /** rows with no number in them (blank lines left out) */
  empty: number;
  /** rows whose status is neither opted-out nor opted-in */
  badStatus: Array<{ line: number; value: string }>;
}

const STATUS_WORDS: Record<string, OptStatus> = {
  'opted-out': 'opted-out', 'opted out': 'opted-out', optedout: 'opted-out', out: 'opted-out', stop: 'opted-out',
  'opted-in': 'opted-in', 'opted in': 'opted-in', optedin: 'opted-in', in: 'opted-in', start: 'opted-in',
};

/**
 * The numbers of an opt-out CSV: the `phone` column (or the first), and the `status` column when there
 * is one (else `status` for every row). A first row whose number cell holds no digit is a header.
 */
export function numbersOfCsv(text: string, status: OptStatus): CsvNumbers {
  const rows = parseCsv(text);
  let phoneColumn = 0;
  let statusColumn = -1;
  let first = 0;
  const header = rows[0]?.map((cell) => cell.trim().toLowerCase());
  if (header && !header.some((cell) => /[0-9]/.test(cell))) {
    first = 1;
    const phoneAt = header.findIndex((cell) => ['phone', 'number', 'mobile', 'msisdn', 'phone number'].includes(cell));
    if (phoneAt >= 0) phoneColumn = phoneAt;
    statusColumn = header.indexOf('status');
  }
  const byStatus = new Map<OptStatus, Array<{ line: number; value: string }>>();
  let empty = 0;
  const badStatus: Array<{ line: number; value: string }> = [];
  for (let r = first; r < rows.length; r++) {
    const cells = rows[r];
    const value = (cells[phoneColumn] ?? '').trim();
    if (!value) {
      if (cells.some((cell) => cell.trim())) empty++;
      continue;
    }
    const word = statusColumn >= 0 ? (cells[statusColumn] ?? '').trim() : '';
    const asked = word ? STATUS_WORDS[word.toLowerCase()] : status;
    if (!asked) {
      badStatus.push({ line: r + 1, value: word });
      continue;
    }
    const rowStatus = asked;
    const list = byStatus.get(rowStatus) ?? [];
    list.push({ line: r + 1, value });
    byStatus.set(rowStatus, list);
  }
  return { byStatus, empty, badStatus };
}
