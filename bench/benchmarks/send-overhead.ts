// 5. send-overhead: what exotel-send adds to a bare undici request to the same mock, one message at a
// time, in alternating blocks. The node runs in this process (node-red-node-test-helper: the nodes' own
// runtime, no HTTP in front).
import { randomUUID } from 'node:crypto';
import { Pool, request } from 'undici';
import { setting, type Config } from '../lib/config';
import { loadInProcess } from '../lib/helper-red';
import { percentiles, round } from '../lib/measure';
import { check, type BenchResult, type Log } from '../lib/report';
import { customerNumbers } from '../lib/traffic';
import { BenchMockExotel } from '../mock-exotel';

const SEND_TEXT = 'Your order #12345 has shipped and will reach you by Jan 22. Track it at example.com/t/12345';

export async function benchSendOverhead(_config: Config, log: Log): Promise<BenchResult> {
  const perSide = setting('BENCH_SEND_MESSAGES', 2_000, 400);
  const warm = 300;
  const mock = await new BenchMockExotel().start();
  const flow = [
    { id: 'send-tab', type: 'tab' },
    { id: 'acc-fast', type: 'exotel-account', accountSid: 'benchsend', apiBaseUrl: mock.url, defaultFrom: 'BENCH', dltEntityId: '', defaultCountry: 'IN', mode: 'live', rateLimit: 100_000_000 },
    { id: 'send-fast', z: 'send-tab', type: 'exotel-send', account: 'acc-fast', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', attempts: 4, wires: [['sent-fast'], ['failed-fast']] },
    { id: 'sent-fast', z: 'send-tab', type: 'helper' },
    { id: 'failed-fast', z: 'send-tab', type: 'helper' },
  ];
  // (a) the bare request: what any client must do, built the same way (form body, Basic auth, keep-alive
  // pool of 8 like the package's client, the JSON answer read and parsed)
  const pool = new Pool(mock.url, { connections: 8, pipelining: 1, keepAliveTimeout: 30_000 });
  const authorization = 'Basic ' + Buffer.from('bench-key:bench-secret').toString('base64');
  const bareUrl = `${mock.url}/v1/Accounts/benchbare/Sms/send.json`;
  const bare = async (phone: string) => {
    const body = new URLSearchParams({ From: 'BENCH', To: phone, Body: SEND_TEXT, EncodingType: 'plain' }).toString();
    const res = await request(bareUrl, { dispatcher: pool, method: 'POST', body, headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' } });
    const json = JSON.parse(await res.body.text()) as { SMSMessage?: { Sid?: string } };
    if (res.statusCode !== 200 || !json.SMSMessage?.Sid) throw new Error(`bare request answered ${res.statusCode}`);
  };
  const red = await loadInProcess(flow, { 'acc-fast': { apiKey: 'bench-key', apiToken: 'bench-secret' } }, 'send');
  let result;
  try {
    const sendNode = red.getNode('send-fast');
    let waiter: { resolve: () => void; reject: (e: Error) => void } | null = null;
    let sentMessages = 0;
    red.getNode('sent-fast').on('input', () => {
      sentMessages++;
      waiter?.resolve();
    });
    red.getNode('failed-fast').on('input', (msg) => waiter?.reject(new Error(`exotel-send failed: ${JSON.stringify(msg.error)}`)));
    // (b) from the message given to the node to the message on its "sent" output
    const viaNode = (phone: string) =>
      new Promise<void>((resolve, reject) => {
        waiter = { resolve, reject };
        // as a reply goes out: the customer's number in E.164 and the inbound SMS it answers
        sendNode.receive({ payload: SEND_TEXT, phone, sms: { sid: randomUUID().replaceAll('-', '') } });
      });
    const nextPhone = customerNumbers(30_000_000);
    const ways = { bare, node: viaNode };
    const timeBlock = async (name: 'bare' | 'node', count: number, into?: number[]) => {
      for (let i = 0; i < count; i++) {
        const phone = `+91${nextPhone()}`;
        const t0 = process.hrtime.bigint();
        await ways[name](phone);
        into?.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    };
    log(`  warm-up: ${warm} messages each`);
    await timeBlock('bare', warm);
    await timeBlock('node', warm);
    const blocks = 8;
    const size = Math.ceil(perSide / blocks);
    const samples = { bare: [] as number[], node: [] as number[] };
    const blockP50 = { bare: [] as number[], node: [] as number[] };
    for (let b = 0; b < blocks; b++) {
      for (const name of b % 2 === 0 ? (['bare', 'node'] as const) : (['node', 'bare'] as const)) {
        const part: number[] = [];
        await timeBlock(name, size, part);
        samples[name].push(...part);
        blockP50[name].push(percentiles(part).p50);
      }
    }
    const stats = { bare: percentiles(samples.bare), node: percentiles(samples.node) };
    log(`  bare p50 ${round(stats.bare.p50, 3)} ms p99 ${round(stats.bare.p99, 3)} ms; exotel-send p50 ${round(stats.node.p50, 3)} ms p99 ${round(stats.node.p99, 3)} ms`);
    result = { stats, counts: await mock.counts(), blockP50, timed: size * blocks, sentMessages };
  } finally {
    await red.unload();
    await pool.close();
    await mock.stop();
  }

  const { stats, counts, blockP50, timed, sentMessages } = result;
  const diffP50 = round(stats.node.p50 - stats.bare.p50, 3);
  const blockDiffs = blockP50.node.map((p, i) => round(p - blockP50.bare[i], 3));
  const r3 = (v: number) => round(v, 3);
  const row = (label: string, key: 'p50' | 'p90' | 'p99' | 'mean') => [label, r3(stats.node[key]), r3(stats.bare[key]), r3(stats.node[key] - stats.bare[key]), round(stats.node[key] / stats.bare[key], 2)];
  const each = timed + warm;
  return {
    title: `Sending one message at a time: exotel-send in Node-RED (message in → "sent" out) vs a bare undici POST to the same mock (${timed} each, 8 alternating blocks)`,
    columns: ['per message, ms', 'exotel-send', 'bare undici*', 'difference', 'ratio'],
    rows: [row('p50', 'p50'), row('p90', 'p90'), row('p99', 'p99'), row('mean', 'mean')],
    targets: [{ name: 'exotel-send p50 − bare undici p50 ≤ 0.5 ms', target: '≤ 0.5 ms', actual: `${diffP50} ms`, pass: diffP50 <= 0.5 }],
    checks: [
      check('requests at the mock (exotel-send / bare)', `${counts.benchsend ?? 0} / ${counts.benchbare ?? 0} of ${each} each`, counts.benchsend === each && counts.benchbare === each),
      check('messages on exotel-send\'s "sent" output', `${sentMessages} of ${each}`, sentMessages === each),
    ],
    facts: [{ name: 'p50 difference per block pair, ms', value: blockDiffs.join(' ') }],
    notes: ['* the bare POST checks no opt-out, keeps no outbox (a message is lost if Node-RED stops), does no retries and no rate limit.'],
    data: { messages: timed, warm, bare: stats.bare, node: stats.node, p50DifferenceMs: diffP50, blockP50, blockDiffs },
  };
}
