// Phone numbers: every number that enters the package is turned into E.164 here, once.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export type PhoneCheck = 'valid' | 'possible';

/**
 * Returns the number in E.164 (`+919876543210`), or null when it is not a phone number.
 * `valid` (for sending) asks that the number exist in the numbering plan; `possible` (for
 * what customers send us) only that it has a plausible length, so that no inbound SMS is
 * refused for a numbering plan newer than our metadata.
 */
// The same numbers come again and again (our own virtual number on every inbound SMS, regular
// customers): remember the last answers rather than parse each again.
const CACHE_LIMIT = 10_000;
/** Longer input is never a phone number: refused before parsing, and never a cache key. */
export const MAX_NUMBER_LENGTH = 40;
const cache = new Map<string, string | null>();

export function toE164(input: unknown, defaultCountry = 'IN', check: PhoneCheck = 'valid'): string | null {
  if (typeof input !== 'string' && typeof input !== 'number') return null;
  if (typeof input === 'string' && input.length > MAX_NUMBER_LENGTH * 2) return null;
  const key = `${defaultCountry}|${check}|${input}`;
  const known = cache.get(key);
  // Stryker disable next-line ConditionalExpression: equivalent; the cache only saves time, a number parsed again gives the same answer
  if (known !== undefined) return known;
  const result = parse(input, defaultCountry, check);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, result);
  return result;
}

/** How many answers are remembered (for tests: the cache stays bounded). */
export function numberCacheSize(): number {
  return cache.size;
}

/** Forgets every remembered answer (for tests: each test parses afresh). */
// Stryker disable next-line BlockStatement: a helper of the specs, not behaviour
export function clearNumberCache(): void {
  cache.clear();
}

function parse(input: string | number, defaultCountry: string, check: PhoneCheck): string | null {
  let text = String(input).trim();
  if (text === '' || text.length > MAX_NUMBER_LENGTH) return null;
  // "00" is the international prefix from most countries; libphonenumber wants "+".
  if (/^00[1-9]/.test(text)) text = '+' + text.slice(2);
  const country = (defaultCountry || 'IN').toUpperCase() as CountryCode;
  const parsed = parsePhoneNumberFromString(text, { defaultCountry: country, extract: false });
  if (!parsed) return null;
  const ok = check === 'valid' ? parsed.isValid() : parsed.isPossible();
  return ok ? parsed.number : null;
}
