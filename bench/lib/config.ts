// The benchmarks' settings, from the environment and the command line.
//
//   --short or BENCH_SHORT=1          a quick run: smaller sizes and shorter rounds (each default below
//                                     has a short one); the figures are not the README's
//   --only=<names> or BENCH_ONLY      comma-separated benchmarks, by name or the unique beginning of it or
//                                     of one of its words (inbound, reply, opt-out, memory, send, rate)
import * as path from 'node:path';

export interface Config {
  short: boolean;
  duration: number;
  rounds: number;
  warmup: number;
  connections: number;
  only: string[];
  cpuProfDir: string | null;
}

function positive(name: string, text: string, integer: boolean): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${name}=${text}: expected a positive ${integer ? 'whole number' : 'number'}`);
  }
  return value;
}

let shortMode = false;

/** A setting from the environment, or its default for a full or a short run. */
export function setting(name: string, full: number, short = full, { integer = true } = {}): number {
  const text = process.env[name];
  if (text === undefined || text === '') return shortMode ? short : full;
  return positive(name, text, integer);
}

function argValue(argv: string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag) return argv[i + 1];
    if (argv[i].startsWith(`${flag}=`)) return argv[i].slice(flag.length + 1);
  }
  return undefined;
}

export function readConfig(argv = process.argv.slice(2)): Config {
  for (const arg of argv) {
    if (arg !== '--short' && !/^--only(=|$)/.test(arg) && argv[argv.indexOf(arg) - 1] !== '--only') {
      throw new Error(`unknown argument ${arg}: expected --short, --only <names>`);
    }
  }
  shortMode = argv.includes('--short') || ['1', 'true', 'yes'].includes(String(process.env.BENCH_SHORT ?? '').toLowerCase());
  const duration = setting('BENCH_DURATION', 10, 3, { integer: false });
  const only = argValue(argv, '--only') ?? process.env.BENCH_ONLY ?? '';
  return {
    short: shortMode,
    duration,
    rounds: setting('BENCH_ROUNDS', 3, 2),
    warmup: setting('BENCH_WARMUP', Math.min(5, duration), Math.min(2, duration), { integer: false }),
    connections: setting('BENCH_CONNECTIONS', 50),
    only: only.split(',').map((s) => s.trim()).filter(Boolean),
    cpuProfDir: process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : null,
  };
}

/** The benchmarks `only` names (whole, or the start of the name or of one of its words), in `known` order. */
export function selectBenchmarks(only: string[], known: string[]): string[] {
  if (only.length === 0) return known;
  const chosen = new Set<string>();
  for (const name of only) {
    const matches = known.includes(name) ? [name] : known.filter((k) => k.startsWith(name) || k.split('-').some((part) => part.startsWith(name)));
    if (matches.length !== 1) {
      throw new Error(`${matches.length ? 'ambiguous' : 'unknown'} benchmark "${name}"; known: ${known.join(', ')}`);
    }
    chosen.add(matches[0]);
  }
  return known.filter((k) => chosen.has(k));
}
