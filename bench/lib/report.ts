// What a benchmark returns, how it is printed, and which of its checks and targets failed.

/** A figure compared with what it should be: a miss makes the run fail. */
export interface Target {
  name: string;
  target: string;
  actual: string | number | null;
  pass: boolean;
}

/** A correctness check computed from the run: a failure makes the run fail. */
export interface Check {
  name: string;
  value: string | number;
  ok: boolean;
}

/** A figure printed for information, with no verdict. */
export interface Fact {
  name: string;
  value: string | number;
}

export type Cell = string | number | null | undefined;

export interface BenchResult {
  title: string;
  columns: string[];
  rows: Cell[][];
  targets: Target[];
  checks: Check[];
  facts?: Fact[];
  notes?: string[];
  data: Record<string, unknown>;
}

export type Log = (line: string) => void;

export function printTable(columns: string[], rows: Cell[][], out: Log = console.log): void {
  const text = rows.map((r) => r.map((cell) => String(cell ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd();
  out(line(columns));
  out(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of text) out(line(r));
}

export function printBenchmark(name: string, bench: BenchResult, out: Log = console.log): void {
  out(`\n${name}: ${bench.title}\n`);
  printTable(bench.columns, bench.rows, out);
  if (bench.targets.length) {
    out('');
    printTable(['target', 'wanted', 'actual', ''], bench.targets.map((t) => [t.name, t.target, t.actual ?? 'n/a', t.pass ? 'PASS' : 'MISS']), out);
  }
  if (bench.checks.length) {
    out('');
    printTable(['check', 'value', ''], bench.checks.map((c) => [c.name, c.value, c.ok ? 'OK' : 'FAIL']), out);
  }
  if (bench.facts?.length) {
    out('');
    printTable(['for information (no verdict)', 'value'], bench.facts.map((f) => [f.name, f.value]), out);
  }
  if (bench.notes?.length) {
    out('');
    for (const note of bench.notes) out(note);
  }
}

/** One line per failed check and missed target of a benchmark. */
export function failures(name: string, bench: BenchResult): string[] {
  return [
    ...bench.checks.filter((c) => !c.ok).map((c) => `${name}: check failed: ${c.name} (${c.value})`),
    ...bench.targets.filter((t) => !t.pass).map((t) => `${name}: target missed: ${t.name} (wanted ${t.target}, got ${t.actual ?? 'n/a'})`),
  ];
}

/** A check that passes when `ok`, with the value shown. */
export const check = (name: string, value: string | number, ok: boolean): Check => ({ name, value, ok });

/** The exit status line of a stopped Node-RED, and whether it stopped cleanly. */
export function cleanStop(exit: { code: number | null; signal: string | null } | null): Check {
  return check('Node-RED stopped cleanly on SIGINT', exit ? exit.signal ?? `exit ${exit.code}` : 'not started', exit?.code === 0);
}
