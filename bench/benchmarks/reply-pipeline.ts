// 2. reply-pipeline: callbacks in, replies out to a local mock of Exotel (rate limit lifted): our six
// nodes against the same job built naively from core nodes. Each side in a Node-RED process of its
// own; after each run a side drains its backlog and (ours) marks every SMS handled before the next run.
import type { Config } from '../lib/config';
import { InboundLog } from '../lib/inbound-log';
import { alternate, figures, load, medianOf, type Side, type SideSummary } from '../lib/load';
import { ratio, round, settle } from '../lib/measure';
import { startNodeRed, untilIdle, waitForEndpoints, type NodeRedChild } from '../lib/node-red';
import { check, cleanStop, type BenchResult, type Check, type Log } from '../lib/report';
import { customerNumbers, FORM, matchReplies, nextSid, WEBHOOK_TOKEN, type ReplyMatch } from '../lib/traffic';
import { BenchMockExotel } from '../mock-exotel';
import { naiveReplyFlows, NAIVE_ACCOUNT, NAIVE_PATH, ourReplyFlows, OUR_ACCOUNT, OUR_PATH, replyCallbackBody } from './reply-flows';

interface Drain {
  backlogAtEnd: number;
  drainMs: number;
  timedOut: boolean;
}

export async function benchReplyPipeline(config: Config, log: Log): Promise<BenchResult> {
  const mock = await new BenchMockExotel().start();
  log(`  mock Exotel on ${mock.url} (worker thread)`);
  const nextPhone = customerNumbers();
  let counter = 0;
  const keys: Record<string, { ok: string[]; sent: string[] }> = { ours: { ok: [], sent: [] }, naive: { ok: [], sent: [] } };
  const drains: Record<string, Drain[]> = { ours: [], naive: [] };
  const reds: Record<string, NodeRedChild> = {};
  const exits: Record<string, Awaited<ReturnType<NodeRedChild['stop']>>> = {};
  let inbound: InboundLog | null = null;
  let allHandled = true;
  let measured: Record<string, SideSummary>;
  try {
    reds.ours = await startNodeRed({ ...ourReplyFlows(mock.url), cpuProfDir: config.cpuProfDir, label: 'bench-reply-ours' }, log);
    reds.naive = await startNodeRed({ ...naiveReplyFlows(mock.url), cpuProfDir: config.cpuProfDir, label: 'bench-reply-naive' }, log);
    const urls = { ours: `${reds.ours.baseUrl}${OUR_PATH}?token=${WEBHOOK_TOKEN}`, naive: `${reds.naive.baseUrl}${NAIVE_PATH}` };
    const accounts = { ours: OUR_ACCOUNT, naive: NAIVE_ACCOUNT } as Record<string, string>;
    for (const name of ['ours', 'naive']) {
      await waitForEndpoints(reds[name], [urls[name as 'ours']], async (url) => {
        const phone = nextPhone();
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': FORM }, body: replyCallbackBody(nextSid(), phone, counter++) });
        keys[name].sent.push(phone);
        if (res.status === 200) keys[name].ok.push(phone);
        return res;
      });
    }
    const reader = new InboundLog(reds.ours.storePath);
    inbound = reader;
    const count = async (name: string) => (await mock.counts())[accounts[name]] ?? 0;
    const makeBody = () => {
      const phone = nextPhone();
      return { key: phone, body: replyCallbackBody(nextSid(), phone, counter++) };
    };
    const side = (name: string): Side => ({
      name,
      async run(duration) {
        const red = reds[name];
        await settle(() => count(name), { quietMs: 500 });
        const repliesBefore = await count(name);
        const cpuBefore = red.cpuMs();
        const { result, ok, okKeys, sentKeys } = await load({ url: urls[name as 'ours'], connections: config.connections, duration, contentType: FORM, makeBody, collectKeys: true });
        const cpuAfterLoad = red.cpuMs();
        const repliesAtEnd = await count(name);
        const drained = await settle(() => count(name), { quietMs: 1000, timeoutMs: 120_000 });
        if (name === 'ours' && !(await reader.untilHandled())) allHandled = false;
        const cpuIdle = await untilIdle(red);
        keys[name].ok.push(...okKeys);
        keys[name].sent.push(...sentKeys);
        const f = figures(result, ok, cpuBefore === null || cpuAfterLoad === null ? null : cpuAfterLoad - cpuBefore);
        f.repliesPerSec = round((repliesAtEnd - repliesBefore) / result.duration, 1);
        const allReplies = drained.value - repliesBefore;
        // Node-RED's CPU time per reply, from the start of the load until it is idle again: all a reply costs
        f.cpuUsPerReply = cpuBefore === null || cpuIdle === null || !allReplies ? null : round(((cpuIdle - cpuBefore) * 1000) / allReplies, 1);
        // answered 200 but not yet replied to when the load stopped
        f.backlogAtEnd = Math.max(0, ok - (repliesAtEnd - repliesBefore));
        f.drainMs = drained.value === repliesAtEnd ? 0 : round(drained.lastChangeMs, 0);
        f.completedPerSec = round(allReplies / (result.duration + (f.drainMs as number) / 1000), 1);
        drains[name].push({ backlogAtEnd: f.backlogAtEnd as number, drainMs: f.drainMs as number, timedOut: drained.timedOut });
        log(`    ${name}: ${f.repliesPerSec} replies/s out (${f.reqPerSec} callbacks/s answered), backlog at the end ${f.backlogAtEnd}, drained in ${f.drainMs} ms`);
        return f;
      },
    });
    measured = await alternate([side('ours'), side('naive')], config, log);
  } finally {
    inbound?.close();
    for (const [name, red] of Object.entries(reds)) exits[name] = await red.stop();
  }
  const [ourRecipients, naiveRecipients] = await Promise.all([mock.recipients(OUR_ACCOUNT), mock.recipients(NAIVE_ACCOUNT)]);
  await mock.stop();
  const match: Record<string, ReplyMatch> = {
    ours: matchReplies(ourRecipients, keys.ours.ok, keys.ours.sent),
    naive: matchReplies(naiveRecipients, keys.naive.ok, keys.naive.sent),
  };
  const oneEach = (m: ReplyMatch) => m.ackedWithoutReply === 0 && m.numbersRepliedTwice === 0 && m.repliedNeverSent === 0;
  if (oneEach(match.ours)) reds.ours.remove();
  else log(`  replies do not match callbacks: user dir kept at ${reds.ours.userDir}`);
  reds.naive.remove();

  const summarise = (name: string) => {
    const s = measured[name];
    return {
      ...s,
      repliesPerSec: medianOf(s.rounds, (f) => f.repliesPerSec as number) as number,
      completedPerSec: medianOf(s.rounds, (f) => f.completedPerSec as number) as number,
      cpuUsPerReply: medianOf(s.rounds, (f) => f.cpuUsPerReply as number | null),
      backlogAtEnd: medianOf(s.rounds, (f) => f.backlogAtEnd as number, 0),
    };
  };
  const ours = summarise('ours');
  const naive = summarise('naive');
  const ratios = {
    repliesPerSec: ratio(ours.repliesPerSec, naive.repliesPerSec),
    completedPerSec: ratio(ours.completedPerSec, naive.completedPerSec),
    callbacksPerSec: ratio(ours.reqPerSec, naive.reqPerSec),
    p50: ratio(ours.p50Ms, naive.p50Ms),
    p99: ratio(ours.p99Ms, naive.p99Ms),
    cpuPerReply: ratio(ours.cpuUsPerReply, naive.cpuUsPerReply),
  };
  const sideChecks = (name: string): Check[] => {
    const m = match[name];
    const d = drains[name];
    const stops = config.rounds + 1;
    return [
      check(`${name}: every callback answered 200 got a reply`, `${m.acked - m.ackedWithoutReply} of ${m.acked}`, m.ackedWithoutReply === 0),
      check(`${name}: numbers replied to twice`, m.numbersRepliedTwice, m.numbersRepliedTwice === 0),
      check(`${name}: replies to numbers never sent`, m.repliedNeverSent, m.repliedNeverSent === 0),
      check(`${name}: replies to callbacks in flight at a stop ≤ ${config.connections} × ${stops} runs`, m.repliedNotAcked, m.repliedNotAcked <= config.connections * stops),
      check(`${name}: every run's backlog drained within 120 s (slowest, ms)`, Math.max(...d.map((x) => x.drainMs)), !d.some((x) => x.timedOut)),
    ];
  };
  const row = (name: string, s: typeof ours) => [name, s.repliesPerSec, s.completedPerSec, s.reqPerSec, s.p50Ms, s.p99Ms, s.cpuUsPerReply ?? 'n/a', s.backlogAtEnd];
  return {
    title: `Reply pipeline: inbound → keyword-switch → opt-out check → conversation route → exotel-send vs naive http in → change → http request, each in its own Node-RED, to a local mock of Exotel, rate limit lifted (${config.connections} connections, ${config.rounds} × ${config.duration} s, median)`,
    columns: ['flow', 'replies/s out', 'incl. backlog', 'callbacks/s', 'ack p50 ms', 'ack p99 ms', 'CPU µs/reply', 'backlog at end'],
    rows: [
      row('ours (6 package nodes)', ours),
      row('naive (core nodes)*', naive),
      ['ours / naive', ratios.repliesPerSec, ratios.completedPerSec, ratios.callbacksPerSec, ratios.p50, ratios.p99, ratios.cpuPerReply ?? 'n/a', ''],
    ],
    targets: [{ name: 'replies/s ours ≥ 1.0 × naive', target: '≥ 1.0', actual: ratios.repliesPerSec, pass: ratios.repliesPerSec !== null && ratios.repliesPerSec >= 1.0 }],
    checks: [
      ...sideChecks('ours'),
      ...sideChecks('naive'),
      check('every SMS marked handled after each run (ours)', allHandled ? 'yes' : 'no', allHandled),
      check('non-2xx / errors (ours / naive)', `${ours.non2xx}/${ours.errors + ours.timeouts} / ${naive.non2xx}/${naive.errors + naive.timeouts}`, ours.non2xx + naive.non2xx + ours.errors + naive.errors + ours.timeouts + naive.timeouts === 0),
      { ...cleanStop(exits.ours ?? null), name: 'ours: Node-RED stopped cleanly on SIGINT' },
      { ...cleanStop(exits.naive ?? null), name: 'naive: Node-RED stopped cleanly on SIGINT' },
    ],
    notes: [
      '* naive: what a user would build from core nodes. It does not dedupe Exotel\'s retries (a retried callback gets a second',
      '  reply), checks no opt-out, keeps no conversation and stores nothing (a reply is lost if Node-RED stops mid-way).',
      'replies/s out: requests the mock Exotel received while the load ran, a second (the target). incl. backlog: every reply of',
      'a run over the time from the start of its load to its last reply. callbacks/s: callbacks answered 200 a second (both',
      'answer before they send). CPU µs/reply: Node-RED\'s CPU time from the start of the load until idle again, a reply.',
      'The naive http request node keeps its connections alive (its "persist" option).',
    ],
    data: { flows: { ours, naive }, ratios, replies: match, drains, exits },
  };
}
