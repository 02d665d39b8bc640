// 6. rate-limit: the account's default limit (200 a minute) under continuous load, in real time: one
// exotel-send node (in this process, node-red-node-test-helper) is offered BENCH_RATE_OFFERED messages a
// second (default 5, 1.5 × the limit) for BENCH_RATE_SECONDS (default 125: two full minutes), and the
// mock Exotel notes when each request arrives, which is where Exotel counts them. It runs last, alone.
import { setting, type Config } from '../lib/config';
import { loadInProcess } from '../lib/helper-red';
import { round, wait } from '../lib/measure';
import { check, type BenchResult, type Log } from '../lib/report';
import { tenDigits } from '../lib/traffic';
import { BenchMockExotel } from '../mock-exotel';
import { rateLimitFigures } from './rate-limit-figures';

export async function benchRateLimit(_config: Config, log: Log): Promise<BenchResult> {
  const seconds = setting('BENCH_RATE_SECONDS', 125, 65);
  const offeredPerSec = setting('BENCH_RATE_OFFERED', 5, 5, { integer: false });
  const limit = 200;
  log(`  ${seconds} s in real time, ${offeredPerSec} messages a second offered`);
  const mock = await new BenchMockExotel().start();
  const flow = [
    { id: 'rate-tab', type: 'tab' },
    // the rate limit left blank: the account's default
    { id: 'acc-rate', type: 'exotel-account', accountSid: 'benchrate', apiBaseUrl: mock.url, defaultFrom: 'BENCH', dltEntityId: '', defaultCountry: 'IN', mode: 'live', rateLimit: '' },
    { id: 'send-rate', z: 'rate-tab', type: 'exotel-send', account: 'acc-rate', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', attempts: 4, wires: [['sent-rate'], ['failed-rate']] },
    { id: 'sent-rate', z: 'rate-tab', type: 'helper' },
    { id: 'failed-rate', z: 'rate-tab', type: 'helper' },
  ];
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  const red = await loadInProcess(flow, { 'acc-rate': { apiKey: 'bench-key', apiToken: 'bench-secret' } }, 'rate');
  let run;
  let unloaded = false;
  try {
    await mock.timestamp('benchrate');
    const node = red.getNode('send-rate');
    let sent = 0;
    let failed = 0;
    const sentPhones: string[] = [];
    const failures: Record<string, number> = {};
    red.getNode('sent-rate').on('input', (msg) => {
      sent++;
      sentPhones.push(tenDigits(String(msg.phone)));
    });
    red.getNode('failed-rate').on('input', (msg) => {
      failed++;
      const code = String(msg.error?.code);
      failures[code] = (failures[code] ?? 0) + 1;
    });
    let offered = 0;
    let phone = 9_700_000_000;
    const loadStart = Date.now();
    const timer = setInterval(() => {
      const due = Math.floor(((Date.now() - loadStart) / 1000) * offeredPerSec) + 1;
      while (offered < due) {
        offered++;
        node.receive({ payload: `Reminder ${offered}: your appointment is tomorrow at 3 PM.`, phone: `+91${phone++}` });
      }
    }, Math.max(10, Math.floor(1000 / offeredPerSec / 2)));
    let lastLog = Date.now();
    while (Date.now() - loadStart < seconds * 1000) {
      await wait(100);
      if (Date.now() - lastLog >= 30_000) {
        lastLog = Date.now();
        log(`    rate limit: ${Math.round((Date.now() - loadStart) / 1000)} s, ${offered} offered, ${sent} sent`);
      }
    }
    clearInterval(timer);
    const loadEnd = Date.now();
    // the node closed, nothing more goes out: then what reached the mock
    await red.unload();
    unloaded = true;
    const arrivals = [...(await mock.arrivals('benchrate'))].sort((a, b) => a - b);
    const recipients = (await mock.recipients('benchrate')).map(tenDigits);
    run = { loadStart, loadEnd, offered, sent, failed, failures, arrivals, recipients, sentPhones };
  } finally {
    if (!unloaded) await red.unload();
    process.off('warning', onWarning);
    await mock.stop();
  }
  const { loadStart, offered, sent, failed, failures, arrivals, recipients, sentPhones } = run;
  const atMock = new Set(recipients);
  const sentNotAtMock = sentPhones.filter((p) => !atMock.has(p)).length;
  const twice = recipients.length - atMock.size;
  const atMockNotSent = recipients.length - sentPhones.length;
  const f = rateLimitFigures(arrivals, run.loadStart, run.loadEnd, limit);
  const within = (n: number) => n >= limit * 0.98 && n <= limit;
  const warned = [...new Set(warnings)];
  // while the offer exceeds the limit, the node sends at the limit: nothing can go in the first minute's
  // slots but the first `limit` messages, and nothing may wait for lack of a send while slots are free
  const expectedFullMinutes = Math.floor((seconds * 1000 - (f.t0 - loadStart)) / 60_000);
  return {
    title: `Rate limit: one exotel-send node, the account's default limit (${limit} a minute), ${offeredPerSec} messages a second offered for ${seconds} s, counted where the mock Exotel receives them`,
    columns: ['measure', 'sends', 'baseline', 'baseline is', 'ratio'],
    rows: [
      ...f.perMinute.map((n, m) => [`minute ${m + 1} from the first send`, n, limit, 'the limit', round(n / limit, 3)]),
      ['most in any 60 s window', f.maxWindow, limit, 'the limit', round(f.maxWindow / limit, 3)],
      ['offered a minute', round(offeredPerSec * 60, 0), limit, 'the limit', round((offeredPerSec * 60) / limit, 2)],
    ],
    targets: [
      { name: `sends in each full minute within 2% of ${limit}`, target: `${limit * 0.98}–${limit}`, actual: f.perMinute.join(', ') || 'no full minute', pass: f.perMinute.length > 0 && f.perMinute.every(within) },
      { name: `most sends in any 60 s window ≤ ${limit}`, target: `≤ ${limit}`, actual: f.maxWindow, pass: f.maxWindow <= limit },
    ],
    checks: [
      check('full minutes observed', `${f.perMinute.length} of ${expectedFullMinutes}`, f.perMinute.length >= 1 && f.perMinute.length >= expectedFullMinutes),
      check('messages on "sent" that never reached the mock / reached it twice / failed', `${sentNotAtMock} / ${twice} / ${failed}`, sentNotAtMock === 0 && twice === 0 && failed === 0),
      check('requests at the mock with no "sent" (in flight at the stop) ≤ 8 connections', atMockNotSent, atMockNotSent >= 0 && atMockNotSent <= 8),
      check('more offered than the limit lets through', `${offered} offered, ${arrivals.length} sent`, offered > arrivals.length),
      check(`shortest time from a request to the ${limit}th after it ≥ 60 s`, f.minGap === null ? 'n/a' : `${f.minGap} ms`, f.minGap === null || f.minGap >= 60_000),
      check('first send within 1 s of the first offer', `${f.t0 - loadStart} ms`, f.t0 - loadStart <= 1_000),
      check('process warnings', warned.length ? `${warned.length}: ${warned[0].slice(0, 90)}…` : 'none', warned.length === 0),
    ],
    facts: [{ name: 'busiest 60 s window starts', value: f.maxWindowAt === null ? 'n/a' : `${round(f.maxWindowAt / 1000, 3)} s after the first send` }],
    data: { limit, seconds, offeredPerSec, offered, sent, failed, failures, ...f, warnings: warned, arrivalsFromFirstMs: arrivals.map((t) => t - f.t0) },
  };
}
