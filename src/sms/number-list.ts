// A list of numbers as users bring it: an array, or CSV / one-a-line text from a file node.

const PHONE_COLUMNS = ['phone', 'number', 'mobile', 'msisdn', 'phone number', 'mobile number'];

function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',' || ch === ';' || ch === '\t') {
      cells.push(cell.trim());
      cell = '';
    } else cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}

/**
 * The raw numbers in a list: an array of strings, numbers or objects with a `phone` (or `number`,
 * `mobile`) field, or text with one number a line, optionally CSV with a header naming the column.
 * Returns null when the value is not a list at all.
 */
export function readNumberList(value: unknown): string[] | null {
  if (Array.isArray(value)) {
    return value.map((item) => {
      if (typeof item === 'string' || typeof item === 'number') return String(item);
      if (item && typeof item === 'object') {
        const record = item as Record<string, unknown>;
        const key = Object.keys(record).find((k) => PHONE_COLUMNS.includes(k.toLowerCase()));
        return key ? String(record[key] ?? '') : '';
      }
      return '';
    });
  }
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value !== 'string') return null;
  const lines = value.replace(/^\uFEFF/, '').split(/\r?\n/).filter((line) => line.trim() !== '');
  if (lines.length === 0) return [];
  const header = splitCsvLine(lines[0]).map((c) => c.toLowerCase());
  let column = header.findIndex((c) => PHONE_COLUMNS.includes(c));
  const hasHeader = column !== -1 || !/\d/.test(lines[0]);
  if (column === -1) column = 0;
  return (hasHeader ? lines.slice(1) : lines).map((line) => splitCsvLine(line)[column] ?? '');
}
