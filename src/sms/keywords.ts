// Keyword matching for SMS replies: what "STOP", " stop. ", "ｓｔｏｐ 🙏" and "१" have in common,
// and which rule a reply belongs to. No Node-RED here: the keyword-switch node only adapts.

export type RuleKind = 'keywords' | 'range' | 'regex' | 'any' | 'empty';
export const RULE_KINDS: readonly RuleKind[] = ['keywords', 'range', 'regex', 'any', 'empty'];

/** A rule as the editor saves it: `{t: 'keywords', v: 'STOP, UNSUBSCRIBE'}`. */
export interface RuleDef {
  t: RuleKind | string;
  v?: unknown;
}

export type MatchMode = 'whole' | 'first-word';

export interface MatchOptions {
  /** `whole` (default): the whole reply must be the keyword, as carriers do; `first-word`: the reply must start with it */
  matchMode?: MatchMode | string;
  /** accept one typo (optimal string alignment distance 1) in keywords of four or more characters */
  typos?: boolean;
}

export interface ReplyMatch {
  /** 1-based rule number, as the editor shows it */
  rule: number;
  kind: RuleKind;
  /** the canonical keyword (`STOP`, `2`, the text a regex matched); absent for `any` and `empty` */
  keyword?: string;
  /** the reply after normalisation, as it was tested */
  text: string;
  /** true when the reply matched only with a typo */
  fuzzy: boolean;
}

interface Keyword {
  /** normalised, as replies are */
  text: string;
  /** the same, split into words, for first-word matching */
  words: string[];
  /** typo tolerance applies: four or more characters and no digits */
  fuzzy: boolean;
}

type CompiledRule =
  | { kind: 'keywords'; canonical: string; keywords: Keyword[] }
  | { kind: 'range'; ranges: Array<[number, number]> }
  | { kind: 'regex'; regex: RegExp }
  | { kind: 'any' }
  | { kind: 'empty' };

export interface CompiledRules {
  readonly rules: readonly CompiledRule[];
  readonly matchMode: MatchMode;
  readonly typos: boolean;
}

/** The code point of digit zero in each script whose digits Indian customers type (plus Arabic-Indic for Urdu). */
const DIGIT_ZEROS = [
  0x0660, // Arabic-Indic
  0x06f0, // Extended Arabic-Indic (Urdu)
  0x0966, // Devanagari
  0x09e6, // Bengali
  0x0a66, // Gurmukhi
  0x0ae6, // Gujarati
  0x0b66, // Odia
  0x0be6, // Tamil
  0x0c66, // Telugu
  0x0ce6, // Kannada
  0x0d66, // Malayalam
];
const INDIC_DIGIT = new RegExp(`[${DIGIT_ZEROS.map((zero) => `\\u{${zero.toString(16)}}-\\u{${(zero + 9).toString(16)}}`).join('')}]`, 'gu');

// Invisible characters that change nothing a reader sees: format characters (zero-width space and
// joiners, direction marks a phone may insert), emoji variation selectors and the keycap mark of "1️⃣".
const INVISIBLE = /[\p{Cf}\u{FE00}-\u{FE0F}\u{E0100}-\u{E01EF}\u{20E3}]/gu;
// Leading edge only: a `[^…]+$` alternative backtracks quadratically over a long run of spaces in V8;
// the trailing edge is cut by trimEnd() below, in one pass.
const LEADING_EDGE = /^[^\p{L}\p{M}\p{N}]+/u;
const WORD_CHAR = /[\p{L}\p{M}\p{N}]/u;
const SPACES = /\s+/gu;
// Candrabindu and anusvara are written interchangeably for the same nasal ("हाँ", "हां").
const CANDRABINDU = /\u0901/gu;
// Inside a reply, a word is letters, marks, digits and the apostrophes and hyphens within words ("don't", "opt-out").
const WORD_SEPARATORS = /[^\p{L}\p{M}\p{N}'’\-_]+/u;
const NUMBER = /^[0-9]+$/;
/** Regular-expression rules see at most this many characters of the reply. */
export const MAX_REGEX_INPUT = 1000;

function foldDigits(text: string): string {
  return text.replace(INDIC_DIGIT, (digit) => {
    const code = digit.codePointAt(0) as number;
    const zero = DIGIT_ZEROS.find((z) => code >= z && code <= z + 9) as number;
    return String(code - zero);
  });
}

/** Cuts everything after the last letter, mark or digit, scanning back once. */
function trimEnd(text: string): string {
  let end = text.length;
  while (end > 0) {
    const code = text.codePointAt(end - 1) as number;
    // the low half of a surrogate pair: look at the whole character
    const start = code >= 0xdc00 && code <= 0xdfff && end >= 2 ? end - 2 : end - 1;
    if (WORD_CHAR.test(text.slice(start, end))) break;
    end = start;
  }
  return text.slice(0, end);
}

/** Width, invisibles, digits, surrounding punctuation and spaces: all but case and spelling. */
function tidy(text: string): string {
  return trimEnd(foldDigits(text.normalize('NFKC').replace(INVISIBLE, '')).replace(LEADING_EDGE, ''))
    .replace(SPACES, ' ');
}

/**
 * The reply as keywords are compared with it: Unicode compatibility forms folded (full-width
 * letters and digits), lower case, the digits of Indian scripts as ASCII digits, surrounding
 * punctuation, quotes and emoji removed, runs of spaces as one space, Devanagari candrabindu as anusvara.
 * `"🛑 STOP!"` → `"stop"`, `" ｙｅｓ. "` → `"yes"`, `"१"` → `"1"`, `"👍"` → `""`.
 */
export function normaliseReply(text: string): string {
  return tidy(String(text ?? '')).toLowerCase().replace(CANDRABINDU, '\u0902');
}

function words(normalised: string): string[] {
  return normalised.split(WORD_SEPARATORS).filter((word) => word !== '');
}

/** Optimal string alignment distance (Levenshtein plus adjacent transposition) is at most 1. */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Array.from(a);
  const y = Array.from(b);
  if (Math.abs(x.length - y.length) > 1) return false;
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  const rest = (from: string[], start: number) => from.slice(start).join('');
  if (x.length === y.length) {
    // one substitution, or one swap of neighbours
    if (rest(x, i + 1) === rest(y, i + 1)) return true;
    return i + 1 < x.length && x[i] === y[i + 1] && x[i + 1] === y[i] && rest(x, i + 2) === rest(y, i + 2);
  }
  // one insertion or deletion
  return x.length > y.length ? rest(x, i + 1) === rest(y, i) : rest(x, i) === rest(y, i + 1);
}

/**
 * A rule the runtime cannot use, with the rule number as the editor shows it (`rule`), a key of
 * keyword-switch's message catalogue (`errors.<key>`) and its parameters, so that the editor shows
 * the same check in the user's language.
 */
export class RuleError extends Error {
  constructor(readonly rule: number, readonly key: string, readonly params: Record<string, string>, problem: string) {
    super(`Rule ${rule}: ${problem}`);
  }
}

function ruleError(index: number, key: string, params: Record<string, string>, problem: string): RuleError {
  return new RuleError(index + 1, key, params, problem);
}

function quoted(value: string): string {
  return `"${value.length > 40 ? value.slice(0, 39) + '…' : value}"`;
}

function compileKeywords(index: number, value: string): CompiledRule {
  const written = value.split(',').map((keyword) => keyword.trim()).filter((keyword) => keyword !== '');
  if (written.length === 0) throw ruleError(index, 'keywordsEmpty', {}, 'the keyword list is empty: write one or more keywords, separated by commas');
  const keywords = written.map((keyword): Keyword => {
    const text = normaliseReply(keyword);
    if (text === '') throw ruleError(index, 'keywordNoLetters', { keyword }, `the keyword ${quoted(keyword)} has no letters or digits, so no reply can match it`);
    return { text, words: words(text), fuzzy: Array.from(text).length >= 4 && !/\p{N}/u.test(text) };
  });
  // The first keyword names the rule: as written, in capitals where the script has them.
  return { kind: 'keywords', canonical: tidy(written[0]).toUpperCase(), keywords };
}

function compileRange(index: number, value: string): CompiledRule {
  const problem = `${quoted(value.trim())} is not a number or a range: write a number such as 2, a range such as 1-5, or several separated by commas`;
  const parts = foldDigits(value.normalize('NFKC')).split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (parts.length === 0) throw ruleError(index, 'rangeEmpty', {}, 'the number is empty: write a number such as 2 or a range such as 1-5');
  const ranges = parts.map((part): [number, number] => {
    const found = /^([0-9]+)(?:\s*[-–—]\s*([0-9]+))?$/.exec(part);
    if (!found) throw ruleError(index, 'range', { range: part }, problem);
    const low = Number(found[1]);
    const high = found[2] === undefined ? low : Number(found[2]);
    if (high < low) throw ruleError(index, 'rangeBackwards', { range: part, fixed: `${high}-${low}` }, `the range ${quoted(part)} runs backwards: write the smaller number first, as in ${high}-${low}`);
    return [low, high];
  });
  return { kind: 'range', ranges };
}

function compileRegex(index: number, value: string): CompiledRule {
  if (value === '') throw ruleError(index, 'regexEmpty', {}, 'the regular expression is empty');
  try {
    return { kind: 'regex', regex: new RegExp(value, 'iu') };
  } catch (err) {
    throw ruleError(index, 'regex', { reason: String((err as Error).message).split(': ').pop() ?? '' }, `the regular expression ${quoted(value)} is not valid: ${(err as Error).message}`);
  }
}

function compileRule(rule: RuleDef, index: number): CompiledRule {
  const value = typeof rule?.v === 'string' ? rule.v : rule?.v === undefined || rule?.v === null ? '' : String(rule.v);
  switch (rule?.t) {
    case 'keywords': return compileKeywords(index, value);
    case 'range': return compileRange(index, value);
    case 'regex': return compileRegex(index, value);
    case 'any': return { kind: 'any' };
    case 'empty': return { kind: 'empty' };
    default: throw ruleError(index, 'kind', {}, `unknown kind of rule ${quoted(String(rule?.t))}`);
  }
}

const NO_RULES = 'there are no rules: add at least one';

/**
 * Every problem of a list of rules, for the editor (which shows them all): the same checks as
 * compileRules. An empty list is one problem of rule 0, key `noRules`.
 */
export function ruleProblems(rules: unknown): RuleError[] {
  if (!Array.isArray(rules) || rules.length === 0) return [new RuleError(0, 'noRules', {}, NO_RULES)];
  const problems: RuleError[] = [];
  rules.forEach((rule: RuleDef, index) => {
    try {
      compileRule(rule, index);
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      problems.push(err);
    }
  });
  return problems;
}

/** Checks and prepares the rules once; throws an Error that names the first bad rule. */
export function compileRules(rules: readonly RuleDef[], options: MatchOptions = {}): CompiledRules {
  if (!Array.isArray(rules) || rules.length === 0) throw new Error(NO_RULES);
  const compiled = rules.map(compileRule);
  return {
    rules: compiled,
    matchMode: options.matchMode === 'first-word' ? 'first-word' : 'whole',
    typos: options.typos === true,
  };
}

type Found = { keyword?: string; fuzzy: boolean } | null;

function matchKeywords(rule: Extract<CompiledRule, { kind: 'keywords' }>, text: string, replyWords: string[], compiled: CompiledRules): Found {
  // The part of the reply each keyword is compared with: all of it, or as many first words as the keyword has.
  const candidate = (keyword: Keyword) => (compiled.matchMode === 'whole' ? text : replyWords.slice(0, keyword.words.length).join(' '));
  const target = (keyword: Keyword) => (compiled.matchMode === 'whole' ? keyword.text : keyword.words.join(' '));
  if (rule.keywords.some((keyword) => candidate(keyword) === target(keyword))) return { keyword: rule.canonical, fuzzy: false };
  if (compiled.typos && rule.keywords.some((keyword) => keyword.fuzzy && withinOneEdit(candidate(keyword), target(keyword)))) {
    return { keyword: rule.canonical, fuzzy: true };
  }
  return null;
}

function matchRange(rule: Extract<CompiledRule, { kind: 'range' }>, text: string, compiled: CompiledRules): Found {
  // First-word mode takes a leading number that is not part of a longer one ("2 stars", not "2.5" or "25").
  const digits = compiled.matchMode === 'whole' ? (NUMBER.test(text) ? text : null) : (/^([0-9]+)(?![\p{L}\p{M}\p{N}]|[.,][0-9])/u.exec(text)?.[1] ?? null);
  if (digits === null || digits.length > 15) return null;
  const number = Number(digits);
  return rule.ranges.some(([low, high]) => number >= low && number <= high) ? { keyword: String(number), fuzzy: false } : null;
}

/**
 * Every rule the reply matches, in rule order. A reply that is exactly one of the keywords is
 * never also routed to another rule for being one typo away from that rule's keywords.
 */
export function matchReply(compiled: CompiledRules, reply: string): ReplyMatch[] {
  const text = normaliseReply(reply);
  const replyWords = words(text);
  const matches: ReplyMatch[] = [];
  compiled.rules.forEach((rule, index) => {
    let found: Found = null;
    switch (rule.kind) {
      case 'keywords': found = matchKeywords(rule, text, replyWords, compiled); break;
      case 'range': found = matchRange(rule, text, compiled); break;
      case 'regex': {
        // a rule written by the flow's author runs on customer text: a bounded length bounds its time
        const result = rule.regex.exec(text.slice(0, MAX_REGEX_INPUT));
        found = result ? { keyword: result[0] === '' ? undefined : result[0], fuzzy: false } : null;
        break;
      }
      case 'any': found = { fuzzy: false }; break;
      case 'empty': found = text === '' ? { fuzzy: false } : null; break;
    }
    if (!found) return;
    const match: ReplyMatch = { rule: index + 1, kind: rule.kind, text, fuzzy: found.fuzzy };
    if (found.keyword !== undefined) match.keyword = found.keyword;
    matches.push(match);
  });
  const exactKeyword = matches.some((match) => match.kind === 'keywords' && !match.fuzzy);
  return exactKeyword ? matches.filter((match) => !match.fuzzy) : matches;
}
