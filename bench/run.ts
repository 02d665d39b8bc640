// Benchmarks of the package in a real Node-RED, each measured against a baseline in the same run, in
// alternating rounds so that machine noise hits both sides alike. Every check is computed from the
// run; a failed check or a missed target makes the run exit 1, with a line saying which.
//
//   npm run bench                                     every benchmark, full size (about 10 minutes)
//   npm run bench -- --short                          every benchmark, small and quick
//   BENCH_ONLY=inbound npm run bench -- --short       one benchmark (or --only=inbound,reply)
//
// Settings (environment; the short default in brackets):
//   BENCH_DURATION     seconds per measured round and flow: 10 [3]
//   BENCH_ROUNDS       measured rounds per flow: 3 [2]; the figures are the median of the rounds
//   BENCH_WARMUP       seconds of warm-up per flow: min(5, BENCH_DURATION) [min(2, …)]
//   BENCH_CONNECTIONS  concurrent connections: 50
//   BENCH_CPU_PROF     a directory: run Node-RED with --cpu-prof, profiles written there
//                      (summarise one with `node --require tsx/cjs bench/profile-summary.ts <file>`)
// and each benchmark's own (bench/benchmarks/<name>.ts):
//   inbound-ack           exotel-inbound's acknowledgement vs a bare http in → http response flow
//   reply-pipeline        inbound → keyword-switch → opt-out → conversation → exotel-send to a mock Exotel,
//                         vs the same job naively from core nodes (http in/response + change → http request)
//   opt-out-check         BENCH_OPTOUT_NUMBERS 1000000 [100000], BENCH_OPTOUT_LOOKUPS 100000 [20000],
//                         BENCH_RESTARTS 3 [1]: import, isOptedOut, start-up with that many numbers stored
//   conversations-memory  BENCH_CONVERSATIONS 100000 [10000]: Node-RED's memory with that many conversations
//   postgres-opt-out      BENCH_OPTOUT_NUMBERS 1000000 [100000], BENCH_OPTOUT_LOOKUPS 100000 [10000]: isOptedOut
//                         on PostgreSQL (several instances) against SQLite, p50/p99 (needs a PostgreSQL)
//   postgres-cluster      inbound acknowledgement and the reply pipeline on PostgreSQL against SQLite, and two
//                         Node-RED instances on one PostgreSQL against one (needs a PostgreSQL)
//   send-overhead         BENCH_SEND_MESSAGES 2000 [400]: exotel-send's time over a bare undici POST
//   sms-log               BENCH_LOG_SMS 1000000 [100000], BENCH_LOG_QUERIES 2000 [500]: the SMS tab's log (first
//                         page, search by number, a page deep) against a bare indexed query, and the retention purge,
//                         on SQLite and on PostgreSQL (needs a PostgreSQL)
//   rate-limit            BENCH_RATE_SECONDS 125 [65], BENCH_RATE_OFFERED 5: the default 200 a minute in
//                         real time; run last, alone, after the others have finished
//
// Prints one table per benchmark and writes the figures to bench/results/latest.json.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchConversationsMemory } from './benchmarks/conversations-memory';
import { benchInboundAck } from './benchmarks/inbound-ack';
import { benchOptOutCheck } from './benchmarks/opt-out-check';
import { benchPostgresCluster } from './benchmarks/postgres-cluster';
import { benchPostgresOptOut } from './benchmarks/postgres-opt-out';
import { benchRateLimit } from './benchmarks/rate-limit';
import { benchReplyPipeline } from './benchmarks/reply-pipeline';
import { benchSendOverhead } from './benchmarks/send-overhead';
import { benchSmsLog } from './benchmarks/sms-log';
import { readConfig, selectBenchmarks, type Config } from './lib/config';
import { round } from './lib/measure';
import { NODE_RED_VERSION } from './lib/node-red';
import { failures, printBenchmark, type BenchResult, type Log } from './lib/report';

const ROOT = path.join(__dirname, '..');
const RESULTS_DIR = path.join(__dirname, 'results');

/** In the order they run: the rate limit last, alone (it waits in real time for minutes). */
export const BENCHMARKS: Record<string, (config: Config, log: Log) => Promise<BenchResult>> = {
  'inbound-ack': benchInboundAck,
  'reply-pipeline': benchReplyPipeline,
  'opt-out-check': benchOptOutCheck,
  'conversations-memory': benchConversationsMemory,
  'send-overhead': benchSendOverhead,
  'postgres-opt-out': benchPostgresOptOut,
  'sms-log': benchSmsLog,
  'postgres-cluster': benchPostgresCluster,
  'rate-limit': benchRateLimit,
};

function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    memoryGB: round(os.totalmem() / 2 ** 30, 1),
    loadAverageAtStart: os.loadavg().map((n) => round(n)),
    loadAverageAtEnd: [] as number[],
  };
}

async function main(): Promise<number> {
  const config = readConfig();
  const log: Log = (line) => process.stderr.write(line + '\n');
  const names = selectBenchmarks(config.only, Object.keys(BENCHMARKS));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkg = require(path.join(ROOT, 'package.json')) as { name: string; version: string };
  const started = performance.now();
  const report = {
    date: new Date().toISOString(),
    machine: machine(),
    nodeRed: NODE_RED_VERSION,
    package: `${pkg.name}@${pkg.version}`,
    config: { ...config },
    benchmarks: {} as Record<string, unknown>,
    failures: [] as string[],
    seconds: 0,
  };
  if (config.short) log('short run: small sizes and short rounds (the README\'s figures come from a full run)');
  // The store's checkpoint worker is unref'd: awaiting its exit with nothing else pending would let the
  // process end mid-benchmark.
  const keepAlive = setInterval(() => undefined, 60_000);
  for (const name of names) {
    log(`${name}:`);
    const t0 = performance.now();
    try {
      const bench = await BENCHMARKS[name](config, log);
      const seconds = round((performance.now() - t0) / 1000, 1);
      report.benchmarks[name] = { title: bench.title, seconds, table: { columns: bench.columns, rows: bench.rows }, targets: bench.targets, checks: bench.checks, facts: bench.facts, notes: bench.notes, ...bench.data };
      printBenchmark(name, bench);
      report.failures.push(...failures(name, bench));
      log(`${name}: ${seconds} s`);
    } catch (err) {
      const message = (err as Error)?.stack ?? String(err);
      console.error(message);
      report.failures.push(`${name}: could not run: ${String((err as Error)?.message ?? err).split('\n')[0]}`);
      report.benchmarks[name] = { error: message };
    }
  }
  clearInterval(keepAlive);
  report.seconds = round((performance.now() - started) / 1000, 0);
  const m = report.machine;
  m.loadAverageAtEnd = os.loadavg().map((n) => round(n));
  console.log(`\nload average ${m.loadAverageAtStart.join(' ')} at start, ${m.loadAverageAtEnd.join(' ')} at end (other work on the machine makes req/s and p99 noisy; compare the ratios)`);
  console.log(`${m.cpus} × ${m.model}, Node ${m.node}, Node-RED ${report.nodeRed}, ${report.date}, ${report.seconds} s${config.short ? ', short run' : ''}`);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, config.short ? 'latest-short.json' : 'latest.json');
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`results: ${path.relative(process.cwd(), file) || file}`);
  if (report.failures.length) {
    console.log(`\nBENCHMARK FAILED: ${report.failures.length} failed check(s) or missed target(s):`);
    for (const line of report.failures) console.log(`  ${line}`);
    return 1;
  }
  console.log(`\nbenchmark passed: every check OK, every target met (${names.join(', ')})`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error((err as Error)?.stack ?? err);
      process.exit(1);
    },
  );
}
