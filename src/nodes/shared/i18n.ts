// Runtime texts: statuses and log messages come from nodes/locales/<lang>/<type>.json, under
// `<type>.runtime`, as the editor's texts do. Not RED._: the test helper replaces it by the identity.
import fs from 'node:fs';
import path from 'node:path';
import type { NodeAPI } from 'node-red';
import type { Translate } from './ports';

export type { Translate } from './ports';

export const DEFAULT_LANGUAGE = 'en-US';
/** nodes/locales: beside the compiled nodes in dist/, or the package's nodes/ when run from src/ */
const LOCALES_DIR = [path.join(__dirname, '..', 'locales'), path.join(__dirname, '..', '..', '..', 'nodes', 'locales')].find((dir) => fs.existsSync(dir)) ?? path.join(__dirname, '..', 'locales');
/** `<lang>/<type>` → the `<type>.runtime` object of the catalogue, or null when there is none */
const catalogues = new Map<string, Record<string, unknown> | null>();

function catalogue(lang: string, type: string): Record<string, unknown> | null {
  const id = `${lang}/${type}`;
  let found = catalogues.get(id);
  // Stryker disable next-line ConditionalExpression: equivalent; the cache only saves reading the file again
  if (found === undefined) {
    found = null;
    try {
      const parsed = JSON.parse(fs.readFileSync(path.join(LOCALES_DIR, lang, `${type}.json`), 'utf8')) as Record<string, unknown>;
      // Stryker disable next-line OptionalChaining: equivalent; a catalogue without the type then throws into the catch below, which finds nothing too
      const runtime = (parsed[type] as Record<string, unknown> | undefined)?.runtime;
      // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent; lookup() finds nothing in a runtime that is no object
      if (runtime && typeof runtime === 'object') found = runtime as Record<string, unknown>;
    } catch {
      found = null;
    }
    catalogues.set(id, found);
  }
  return found;
}

function lookup(tree: Record<string, unknown> | null, key: string): string | undefined {
  let at: unknown = tree;
  for (const part of key.split('.')) {
    if (!at || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return typeof at === 'string' ? at : undefined;
}

/** The languages to try, best first: `hi_IN.UTF-8` → `hi-IN`, `hi`; always ending with en-US. */
export function languagesFor(lang: string | undefined): string[] {
  const out: string[] = [];
  // Stryker disable next-line StringLiteral: equivalent; "Stryker was here!" is no language tag either
  const cleaned = (lang ?? '').split(/[.@:]/)[0].replace(/_/g, '-').trim();
  // Stryker disable next-line ConditionalExpression,LogicalOperator,StringLiteral: equivalent; '', C and POSIX fail the pattern too (two or three letters first)
  if (cleaned && cleaned !== 'C' && cleaned !== 'POSIX' && /^[A-Za-z]{2,3}(-[A-Za-z0-9]+)*$/.test(cleaned)) {
    const [base, region] = cleaned.split('-');
    if (region) out.push(`${base.toLowerCase()}-${region.length === 2 ? region.toUpperCase() : region}`);
    out.push(base.toLowerCase());
  }
  if (!out.includes(DEFAULT_LANGUAGE)) out.push(DEFAULT_LANGUAGE);
  return out;
}

/** The language of the runtime, as Node-RED's own: `lang` in settings.js, else LC_ALL / LC_MESSAGES / LANG, else en-US. */
export function runtimeLanguage(RED?: NodeAPI): string {
  const configured = RED ? (RED.settings as unknown as { lang?: unknown }).lang : undefined;
  if (typeof configured === 'string' && configured.trim()) return configured.trim();
  return process.env.LC_ALL || process.env.LC_MESSAGES || process.env.LANG || DEFAULT_LANGUAGE;
}

const translators = new Map<string, Translate>();

/** Fills `__name__` placeholders, as Node-RED's i18next does. */
function fill(text: string, vars?: Record<string, string | number>): string {
  if (!vars) return text;
  return text.replace(/__([A-Za-z0-9_]+?)__/g, (whole, name: string) => (Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : whole));
}

/** The translator of a node type's runtime texts (`<type>.runtime.<key>`), in the runtime's language. */
export function messages(RED: NodeAPI | undefined, type: string, lang = runtimeLanguage(RED)): Translate {
  const id = `${type}|${lang}`;
  let translate = translators.get(id);
  if (!translate) {
    const languages = languagesFor(lang);
    translate = (key, vars) => {
      for (const language of languages) {
        const text = lookup(catalogue(language, type), key);
        if (text !== undefined) return fill(text, vars);
      }
      return key;
    };
    translators.set(id, translate);
  }
  return translate;
}

/** Forgets the catalogues and translators read so far (for tests: each test reads afresh). */
// Stryker disable next-line BlockStatement: a helper of the specs, not behaviour
export function clearMessageCaches(): void {
  catalogues.clear();
  translators.clear();
}
