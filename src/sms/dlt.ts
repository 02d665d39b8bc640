// India's DLT content templates: a registered text whose {#var#} parts vary. An SMS matches its
// template when the fixed parts are exactly as registered and each variable takes at most 30
// characters; operators refuse (and Exotel bills) one that does not. Pure: the editor loads it too.

/** The categories a DLT template is registered under. */
export const DLT_CATEGORIES = ['transactional', 'service-implicit', 'service-explicit', 'promotional'] as const;
export type DltCategory = (typeof DLT_CATEGORIES)[number];

export interface DltTemplate {
  /** the template id the DLT portal gave it (19 digits, kept as text) */
  id: string;
  name: string;
  /** as registered, with {#var#} variables */
  text: string;
  category: DltCategory;
}

/** The most characters one variable may take (operators' practice). */
export const MAX_VARIABLE_LENGTH = 30;

/**
 * A variable of a registered text: `{#var#}`, or one of the pre-tagged kinds (`{#numeric#}`,
 * `{#alphanumeric#}`, `{#url#}`, `{#urlott#}`, `{#cbn#}`, `{#email#}`). Case-sensitive, as the portal is.
 */
const VARIABLE = /\{#[a-z]+#\}/g;

/** A character of the fixed text, or a variable. */
type Item = string | typeof VAR;
const VAR = null;

/** The registered text as items: one a character (code point), `null` a variable. */
function itemsOf(template: string): Item[] {
  const items: Item[] = [];
  let last = 0;
  for (const found of template.matchAll(VARIABLE)) {
    items.push(...Array.from(template.slice(last, found.index)), VAR);
    last = found.index + found[0].length;
  }
  items.push(...Array.from(template.slice(last)));
  return items;
}

/** How many variables a registered text has. */
export function variableCount(template: string): number {
  return itemsOf(template).filter((item) => item === VAR).length;
}

/** Where a text first departs from its template. Positions count characters (code points) from 1. */
export interface DltDifference {
  position: number;
  /** what the template wants there: its fixed text up to the next variable, or '' for the end of the text */
  expected: string;
  /** what the text has there; '' at the end of the text */
  found: string;
  /** the variable (or adjacent variables) just before may have taken part of `found` */
  afterVariable: boolean;
  /** the fixed text after a variable is there, but further than the variable may reach: how many characters it took, and the most it may */
  variableLength?: number;
  variableLimit?: number;
}

/** Fixed text the template expects from item `j` on: up to the next variable or the end. */
function fixedRun(items: Item[], j: number): string {
  let run = '';
  for (let k = j; k < items.length && items[k] !== VAR; k++) run += items[k] as string;
  return run;
}

/**
 * Whether `text` matches the registered `template`: null when it does, else its first difference.
 * Works on code points, so Hindi and emoji count as the characters they are; the comparison is
 * exact (no case folding, no normalisation, spaces count).
 */
export function matchTemplate(template: string, text: string): DltDifference | null {
  const items = itemsOf(template);
  const chars = Array.from(text);
  const n = chars.length;
  // reach[j][i]: the first j items of the template match the first i characters of the text
  const reach: Uint8Array[] = [new Uint8Array(n + 1)];
  reach[0][0] = 1;
  let furthest = 0;
  for (let j = 0; j < items.length; j++) {
    const from = reach[j];
    const to = new Uint8Array(n + 1);
    const item = items[j];
    let any = false;
    if (item === VAR) {
      // a variable takes 0 to MAX_VARIABLE_LENGTH characters: i is reached from any of the 31 positions before it
      let window = 0;
      for (let i = 0; i <= n; i++) {
        window += from[i];
        if (i > MAX_VARIABLE_LENGTH) window -= from[i - MAX_VARIABLE_LENGTH - 1];
        if (window > 0) to[i] = 1;
      }
      any = to.includes(1);
    } else {
      for (let i = 0; i < n; i++) {
        if (from[i] && chars[i] === item) {
          to[i + 1] = 1;
          any = true;
        }
      }
    }
    reach.push(to);
    if (!any) break;
    furthest = j + 1;
  }
  if (furthest === items.length && reach[furthest][n]) return null;
  return difference(items, chars, reach, furthest);
}

/** Explains why the text stops matching at item `j`, the furthest the template could be followed. */
function difference(items: Item[], chars: string[], reach: Uint8Array[], j: number): DltDifference {
  const n = chars.length;
  const at = reach[j];
  // the variables right before item j (adjacent ones add up)
  let start = j;
  while (start > 0 && items[start - 1] === VAR) start--;
  const variables = j - start;
  const afterVariable = variables > 0;
  if (j === items.length) {
    // the whole template is followed, but the text goes on: from its furthest end
    const end = at.lastIndexOf(1);
    return { position: end + 1, expected: '', found: chars.slice(end).join(''), afterVariable };
  }
  const expected = fixedRun(items, j);
  const wanted = Array.from(expected);
  // among the positions item j is reached at, the one where most of the expected text follows (the first if none)
  let best = at.indexOf(1);
  let bestLength = -1;
  for (let i = best; i <= n; i++) {
    if (!at[i]) continue;
    let length = 0;
    while (length < wanted.length && i + length < n && chars[i + length] === wanted[length]) length++;
    if (length > bestLength) {
      best = i;
      bestLength = length;
    }
  }
  const position = best + bestLength;
  const result: DltDifference = { position: position + 1, expected: wanted.slice(bestLength).join(''), found: chars.slice(position).join(''), afterVariable };
  if (afterVariable && bestLength === 0) {
    // the fixed text may be there, but further away than the variables may reach
    const from = reach[start].indexOf(1);
    const later = chars.join('').indexOf(expected, chars.slice(0, from).join('').length);
    if (later >= 0) {
      result.position = from + 1;
      result.found = chars.slice(from).join('');
      result.variableLength = Array.from(chars.join('').slice(0, later)).length - from;
      result.variableLimit = MAX_VARIABLE_LENGTH * variables;
    }
  }
  return result;
}

/** A piece of text for a message: quoted, cut after `max` characters. */
function quoted(text: string, max = 24): string {
  const chars = Array.from(text);
  return `"${chars.slice(0, max).join('')}${chars.length > max ? '…' : ''}"`;
}

/** The difference as a sentence (English: it goes into msg.error.message, which flows read). */
export function describeDifference(diff: DltDifference): string {
  const where = `at character ${diff.position}`;
  if (diff.variableLength !== undefined) {
    return `${where}: the variable takes ${diff.variableLength} characters, more than the ${diff.variableLimit} it may (found ${quoted(diff.found)})`;
  }
  const found = diff.found === '' ? 'the end of the text' : quoted(diff.found);
  if (diff.expected === '') {
    const limit = diff.afterVariable ? ` (the variable before it takes at most ${MAX_VARIABLE_LENGTH} characters)` : '';
    return `${where}: expected the end of the text${limit}, found ${found}`;
  }
  const after = diff.afterVariable ? `a variable of at most ${MAX_VARIABLE_LENGTH} characters, then ` : '';
  return `${where}: expected ${after}${quoted(diff.expected)}, found ${found}`;
}

/** A mustache tag of a typed text ({{name}}, {{{name}}}, {{& name}}): it renders to anything. */
const PLACEHOLDER = /\{\{\{[^}]*\}\}\}|\{\{[^}]*\}\}/g;
/** Sections and partials render text that may or may not be there: such a text is not checked. */
const UNCHECKABLE = /\{\{\s*[#^/>!=]/;

/** The typed text as items (a character, or `undefined` for a placeholder: any text), and where each starts in it (code points). */
function typedItems(text: string): { items: Array<string | undefined>; starts: number[] } {
  const items: Array<string | undefined> = [];
  const starts: number[] = [];
  let last = 0;
  let position = 0;
  const fixed = (part: string) => {
    for (const ch of part) {
      items.push(ch);
      starts.push(position++);
    }
  };
  for (const found of text.matchAll(PLACEHOLDER)) {
    fixed(text.slice(last, found.index));
    items.push(undefined);
    starts.push(position);
    position += Array.from(found[0]).length;
    last = found.index + found[0].length;
  }
  fixed(text.slice(last));
  starts.push(position);
  return { items, starts };
}

/** Beyond this many states, the editor does not check (a text and template of thousands of characters). */
const MAX_STATES = 4_000_000;

/**
 * The editor's check of a typed text that may hold {{placeholders}}: null when some values of its
 * placeholders make it match the template (or it cannot be told), else where the text departs
 * from it (position in the typed text). Without placeholders it is `matchTemplate`.
 */
export function typedTextCouldMatch(template: string, typed: string): DltDifference | null {
  if (UNCHECKABLE.test(typed)) return null;
  const { items: text, starts } = typedItems(typed);
  if (!text.includes(undefined)) return matchTemplate(template, typed);
  const items = itemsOf(template);
  const m = items.length;
  const width = MAX_VARIABLE_LENGTH + 1;
  if ((text.length + 1) * (m + 1) * width > MAX_STATES) return null;
  // state (a, b, k): a items of the text and b of the template followed, k characters of the text in the current variable
  const seen = new Uint8Array((text.length + 1) * (m + 1) * width);
  const key = (a: number, b: number, k: number) => (a * (m + 1) + b) * width + k;
  const stack: Array<[number, number, number]> = [[0, 0, 0]];
  seen[key(0, 0, 0)] = 1;
  let furthest: [number, number] = [0, 0];
  const push = (a: number, b: number, k: number) => {
    if (seen[key(a, b, k)]) return;
    seen[key(a, b, k)] = 1;
    stack.push([a, b, k]);
  };
  while (stack.length > 0) {
    const [a, b, k] = stack.pop()!;
    if (a === text.length && b === m) return null;
    // the report: where the typed text got furthest (then the template): a placeholder may take any fixed text, so the template's progress alone says little
    if (a > furthest[0] || (a === furthest[0] && b > furthest[1])) furthest = [a, b];
    const mine = text[a];
    const theirs = items[b];
    if (b < m && theirs === VAR) {
      push(a, b + 1, 0); // the variable ends
      if (a < text.length && mine !== undefined && k < MAX_VARIABLE_LENGTH) push(a + 1, b, k + 1); // it takes a typed character
    }
    if (a < text.length && mine === undefined) {
      push(a + 1, b, k); // the placeholder ends
      if (b < m && theirs !== VAR) push(a, b + 1, 0); // it renders a fixed character of the template
    }
    if (a < text.length && b < m && mine !== undefined && theirs !== VAR && mine === theirs) push(a + 1, b + 1, 0);
  }
  const [a, b] = furthest;
  const shown = (from: number) => text.slice(from).map((item) => (item === undefined ? '{{…}}' : item)).join('');
  return { position: starts[a] + 1, expected: b < m ? fixedRun(items, b) : '', found: shown(a), afterVariable: b > 0 && items[b - 1] === VAR };
}
