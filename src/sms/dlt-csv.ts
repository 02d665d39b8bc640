// The DLT portals' list of content templates, saved as CSV (the operators' portals export it with
// their own column names), read into the account's templates. Pure: the account dialog imports with it.
import { DLT_CATEGORIES, type DltCategory, type DltTemplate } from './dlt';

/** Column names as the portals write them, lower-cased, without spaces, dashes, dots or underscores. */
const COLUMNS = {
  id: ['templateid', 'contenttemplateid', 'dlttemplateid', 'dltcontenttemplateid', 'ctid', 'tempid', 'id'],
  name: ['templatename', 'contenttemplatename', 'name', 'title'],
  text: ['templatecontent', 'templatemessage', 'templatetext', 'contenttemplate', 'content', 'message', 'messagecontent', 'text', 'body', 'template'],
  // "category" last: on some portals it is the content's subject (banking, retail…), not its kind
  category: ['templatetype', 'contenttype', 'communicationtype', 'messagetype', 'type', 'templatecategory', 'category'],
} as const;

type Field = keyof typeof COLUMNS;

function columnKey(name: string): string {
  return name.toLowerCase().replace(/[\s_.\-]+/g, '');
}

/** A category as the portals write it (`Service Implicit`, `SERVICE_EXPLICIT`, `Promotional`…), or null. */
export function categoryOf(value: unknown): DltCategory | null {
  const key = String(value ?? '').toLowerCase().trim().replace(/[\s_]+/g, '-');
  return (DLT_CATEGORIES as readonly string[]).includes(key) ? (key as DltCategory) : null;
}

/** Rows of CSV text (RFC 4180: quoted cells may hold the separator, quotes doubled, and line breaks). */
export function csvRows(text: string, separator: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && cell.trim() === '') {
      quoted = true;
      cell = '';
    } else if (ch === separator) {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      rows.push([...row, cell]);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows.filter((cells) => cells.some((each) => each.trim() !== ''));
}

/** The separator of the header line: the one of comma, semicolon and tab it has most of. */
function separatorOf(header: string): string {
  const counts = [',', ';', '\t'].map((separator) => ({ separator, count: header.split(separator).length }));
  return counts.reduce((best, each) => (each.count > best.count ? each : best)).separator;
}

export interface CsvProblem {
  /** the line's number among the rows, the header being 1 */
  row: number;
  reason: string;
}

export interface CsvImport {
  templates: DltTemplate[];
  /** rows that could not be read, each with why; or the whole file's problem (row 1) */
  problems: CsvProblem[];
}

/**
 * The templates in a DLT portal's CSV export: a header row naming the columns (template id, name,
 * content, type; spelt in any of the portals' ways), one template a row. A row without an id or
 * text, with a category that is none of the four, or with an id already read, is reported and left out.
 */
export function parseTemplatesCsv(csv: string): CsvImport {
  const text = csv.replace(/^\uFEFF/, '');
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  const rows = csvRows(text, separatorOf(firstLine));
  if (rows.length === 0) return { templates: [], problems: [{ row: 1, reason: 'the file is empty' }] };
  const header = rows[0].map(columnKey);
  const columns: Partial<Record<Field, number[]>> = {};
  for (const field of Object.keys(COLUMNS) as Field[]) {
    const found = (COLUMNS[field] as readonly string[]).map((name) => header.indexOf(name)).filter((index) => index >= 0);
    if (found.length > 0) columns[field] = found;
  }
  const missing = (['id', 'text'] as Field[]).filter((field) => !columns[field]);
  if (missing.length > 0) {
    const names = missing.map((field) => (field === 'id' ? '"Template ID"' : '"Template Content"')).join(' and ');
    return { templates: [], problems: [{ row: 1, reason: `no ${names} column in the header (${rows[0].join(', ')})` }] };
  }
  const templates: DltTemplate[] = [];
  const problems: CsvProblem[] = [];
  const seen = new Set<string>();
  rows.slice(1).forEach((cells, index) => {
    const row = index + 2;
    const cell = (field: Field) => (columns[field] ?? []).map((column) => (cells[column] ?? '').trim()).find((value) => value !== '') ?? '';
    // Excel writes a long number as 1.10716E+18: the id is lost, and must be exported as text
    const id = cell('id').replace(/^'/, '');
    const templateText = (columns.text ?? []).map((column) => cells[column] ?? '').find((value) => value.trim() !== '') ?? '';
    if (!id) return problems.push({ row, reason: 'no template id' });
    if (!/^[0-9A-Za-z]+$/.test(id)) return problems.push({ row, reason: `the template id "${id}" is not a DLT template id (a spreadsheet may have rounded it: save the column as text)` });
    if (templateText.trim() === '') return problems.push({ row, reason: `template ${id} has no text` });
    if (seen.has(id)) return problems.push({ row, reason: `template ${id} is listed twice` });
    const categories = (columns.category ?? []).map((column) => categoryOf(cells[column]));
    const category = categories.find((each) => each !== null);
    if (!category) {
      const written = cell('category');
      return problems.push({ row, reason: written ? `template ${id} has the type "${written}", none of ${DLT_CATEGORIES.join(', ')}` : `template ${id} has no type` });
    }
    seen.add(id);
    templates.push({ id, name: cell('name'), text: templateText.trim(), category });
  });
  return { templates, problems };
}
