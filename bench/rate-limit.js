#!/usr/bin/env node
// The account's rate limiter at its default (200 requests a minute) under continuous load, in real
// time: one exotel-send node in Node-RED (node-red-node-test-helper, in this process) is offered
// BENCH_RATE_OFFERED messages a second (default 5, 1.5 × the limit) for BENCH_RATE_SECONDS seconds
// (default 125: two full minutes from the first send), and the local mock of Exotel notes when each
// request arrives, which is where Exotel counts them.
//
// `npm run bench` runs this in a child process alongside the other benchmarks (it is idle nearly all
// the time, and two minutes of waiting would not fit the run otherwise); `BENCH_ONLY=rate-limit`
// runs it alone. Run by hand it prints its measurements as JSON on stdout, progress on stderr.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { BenchMockExotel } = require('./mock-exotel');

const ROOT = path.join(__dirname, '..');
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function measureRateLimit({ seconds, offeredPerSec, log = () => undefined }) {
  const red = require(path.join(ROOT, 'test', 'support', 'red.js'));
  const mock = await new BenchMockExotel().start();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-bench-rate-'));
  red.settings({ exotelSms: { storePath: path.join(dir, 'exotel-sms.db') } });
  const flow = [
    { id: 'rate-tab', type: 'tab' },
    // the rate limit left blank: the account's default
    { id: 'acc-rate', type: 'exotel-account', accountSid: 'benchrate', apiBaseUrl: mock.url, defaultFrom: 'BENCH', dltEntityId: '', defaultCountry: 'IN', mode: 'live', rateLimit: '' },
    { id: 'send-rate', z: 'rate-tab', type: 'exotel-send', account: 'acc-rate', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', attempts: 4, wires: [['sent-rate'], ['failed-rate']] },
    { id: 'sent-rate', z: 'rate-tab', type: 'helper' },
    { id: 'failed-rate', z: 'rate-tab', type: 'helper' },
  ];
  const creds = { 'acc-rate': { apiKey: 'bench-key', apiToken: 'bench-secret' } };
  const warnings = [];
  const onWarning = (warning) => warnings.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  try {
    await red.load(flow, creds);
    // the helper's sinon spies on every Node method keep every call: unwrapped, as in a real runtime
    red.helper._sandbox?.restore?.();
    await mock.timestamp('benchrate');
    const node = red.helper.getNode('send-rate');
    let sent = 0;
    let failed = 0;
    const failures = {};
    red.helper.getNode('sent-rate').on('input', () => sent++);
    red.helper.getNode('failed-rate').on('input', (msg) => {
      failed++;
      failures[msg.error?.code] = (failures[msg.error?.code] ?? 0) + 1;
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
    const arrivals = await mock.arrivals('benchrate');
    return { seconds, offeredPerSec, loadStart, loadEnd, offered, sent, failed, failures, arrivals, warnings };
  } finally {
    await red.helper.unload().catch(() => undefined);
    process.off('warning', onWarning);
    await mock.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { measureRateLimit };

if (require.main === module) {
  const seconds = Number(process.env.BENCH_RATE_SECONDS || 125);
  const offeredPerSec = Number(process.env.BENCH_RATE_OFFERED || 5);
  measureRateLimit({ seconds, offeredPerSec, log: (line) => process.stderr.write(line + '\n') })
    .then((result) => {
      process.stdout.write(JSON.stringify(result) + '\n');
      process.exit(0);
    })
    .catch((err) => {
      process.stderr.write(String(err?.stack ?? err) + '\n');
      process.exit(1);
    });
}
