// What a node contract is made of, and the checks several node types share. A contract holds the
// facts the editor and the runtime both need (properties, defaults, enumerations, limits, version,
// migrations, validation); it imports nothing from Node-RED or Node, so the editor loads it too
// (scripts/build.js bundles src/nodes/contracts.ts into resources/contracts.js).

/** A property as the editor's `defaults` declare it. */
export interface PropertySpec<T> {
  value: T;
  required?: boolean;
  /** the type of config node the property points at */
  type?: string;
}

export type Defaults<P> = { [K in keyof P]: PropertySpec<P[K]> };

/** What every node saves: its name and the version of its properties. */
export interface SavedNode {
  name: string;
  version: number;
}

/** A saved config as it comes from a flow file: anything may be missing or of another type. */
export type SavedConfig = Record<string, unknown>;

/** Takes a config saved at version `n` (its index) to version `n + 1`. Pure: returns a new object. */
export type Migration = (config: SavedConfig) => SavedConfig;

export interface NodeContract<P extends SavedNode, C = Record<string, never>> {
  type: string;
  /** the version of the properties this release saves; `migrations.length` */
  version: number;
  defaults: Defaults<P>;
  credentials?: { [K in keyof C]: { type: 'text' | 'password' } };
  migrations: readonly Migration[];
}

/** A problem for the editor and the runtime alike: a key of the node type's message catalogue (`errors.…`) and its parameters. */
export interface Problem {
  key: string;
  params?: Record<string, string | number>;
}

/** `true`, or what is wrong. */
export type Verdict = true | Problem;

export function problem(key: string, params?: Record<string, string | number>): Problem {
  return params ? { key, params } : { key };
}

/**
 * The version a config was saved at. A config without one was saved before versions existed: 0.
 * (Node-RED's editor does not fill the missing properties of a loaded node from `defaults`, so an
 * old node keeps showing no version until it is migrated.)
 */
export function versionOf(config: SavedConfig): number {
  const version = Number(config.version);
  return Number.isInteger(version) && version >= 0 ? version : 0;
}

/**
 * The config brought to the contract's version by its migrations, in order. A config saved by a
 * newer release (a higher version) is returned as it is: it cannot be taken back.
 */
export function migrate<P extends SavedNode, T extends object>(contract: NodeContract<P, unknown>, config: T): Omit<T, keyof P> & P {
  let migrated: SavedConfig = { ...(config as SavedConfig) };
  for (let version = versionOf(migrated); version < contract.version; version++) {
    migrated = { ...contract.migrations[version](migrated), version: version + 1 };
  }
  return migrated as Omit<T, keyof P> & P;
}

/** The default values of a contract, as a fresh config (arrays and objects copied). */
export function defaultValues<P extends SavedNode>(contract: NodeContract<P, unknown>): P {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(contract.defaults) as Array<[string, PropertySpec<unknown>]>) {
    values[key] = JSON.parse(JSON.stringify(spec.value));
  }
  return values as P;
}

/**
 * Migration to version 1, the first versioned release: every property the config lacks gets the
 * value the unversioned runtime used in its place (`fallbacks`, else the default), so that an old
 * flow keeps doing what it did.
 */
export function fillMissing(defaults: Record<string, PropertySpec<unknown>>, fallbacks: Record<string, unknown> = {}): Migration {
  return (config) => {
    const filled: SavedConfig = { ...config };
    for (const [key, spec] of Object.entries(defaults)) {
      if (key === 'version' || filled[key] !== undefined) continue;
      const value = key in fallbacks ? fallbacks[key] : spec.value;
      filled[key] = JSON.parse(JSON.stringify(value));
    }
    return filled;
  };
}

// Checks shared by several node types.

/** A property as typed, trimmed; '' for nothing. */
export function text(value: unknown): string {
  return String(value === undefined || value === null ? '' : value).trim();
}

/** An http(s) URL. */
export function isHttpUrl(value: unknown): boolean {
  try {
    const url = new URL(text(value));
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** A two-letter country code (ISO 3166-1 alpha-2), as libphonenumber takes it. */
export function isCountryCode(value: unknown): boolean {
  return /^[A-Za-z]{2}$/.test(text(value));
}

/** A phone number typed in by hand: digits, spaces, brackets and dashes, with an optional "+". */
export function isPhoneLiteral(value: unknown): boolean {
  return /^\+?[0-9][0-9 ()\-]{5,}$/.test(text(value));
}

/** A whole number from `min` to `max`, written as digits. */
export function isWholeNumber(value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean {
  const given = text(value);
  return /^[0-9]+$/.test(given) && Number(given) >= min && Number(given) <= max;
}

/** A number above 0 (and at least `min`, at most `max`), whole when `whole`. */
export function isPositiveNumber(value: unknown, whole: boolean, min = 0, max?: number): boolean {
  const given = text(value);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(given) && !/^\.[0-9]+$/.test(given)) return false;
  const n = Number(given);
  if (whole && Math.floor(n) !== n) return false;
  return n >= min && n > 0 && (max === undefined || n <= max);
}

/** One of `values`. */
export function oneOf(values: readonly string[], value: unknown): boolean {
  return (values as readonly unknown[]).includes(value);
}
