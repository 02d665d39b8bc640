// 1. inbound-ack: exotel-inbound's acknowledgement against a bare `http in` → `http response` flow.
// Each side runs in a Node-RED process of its own, and after every run each waits until its process is
// idle, ours until every SMS of the run is marked handled (after the replay window) and the checkpoints
// are done: the deferred work of one side never lands in the other's rounds, and ours' CPU time per
// request includes it.
import type { Config } from '../lib/config';
import { InboundLog } from '../lib/inbound-log';
import { alternate, figures, load, type Side } from '../lib/load';
import { ratio, round } from '../lib/measure';
import { startNodeRed, untilIdle, waitForEndpoints, type NodeRedChild } from '../lib/node-red';
import { check, cleanStop, type BenchResult, type Log } from '../lib/report';
import { exotelFormBody, FORM, nextSid, WEBHOOK_TOKEN } from '../lib/traffic';

const OUR_PATH = '/exotel/sms';
const BARE_PATH = '/bare/sms';

export function inboundAckFlows(): { ours: object[]; bare: object[]; credentials: Record<string, object> } {
  return {
    ours: [
      { id: 'bench-tab', type: 'tab', label: 'bench' },
      {
        id: 'bench-account', type: 'exotel-account', accountSid: 'benchacct', apiBaseUrl: 'http://127.0.0.1:9',
        defaultFrom: 'BENCH', dltEntityId: '', defaultCountry: 'IN', mode: 'live', rateLimit: 200,
      },
      { id: 'bench-inbound', z: 'bench-tab', type: 'exotel-inbound', account: 'bench-account', path: OUR_PATH, allowList: '', wires: [[]] },
    ],
    // the baseline a user would build: no token check, no dedupe, nothing stored
    bare: [
      { id: 'bench-tab', type: 'tab', label: 'bench' },
      { id: 'bench-http-in', z: 'bench-tab', type: 'http in', url: BARE_PATH, method: 'post', upload: false, swaggerDoc: '', wires: [['bench-http-response']] },
      { id: 'bench-http-response', z: 'bench-tab', type: 'http response', statusCode: '', headers: {}, wires: [] },
    ],
    credentials: { 'bench-account': { apiKey: 'bench-key', apiToken: 'bench-secret', webhookToken: WEBHOOK_TOKEN } },
  };
}

export async function benchInboundAck(config: Config, log: Log): Promise<BenchResult> {
  const { ours: ourFlows, bare: bareFlows, credentials } = inboundAckFlows();
  const reds: NodeRedChild[] = [];
  const exits: Record<string, Awaited<ReturnType<NodeRedChild['stop']>>> = {};
  const probeSids: string[] = [];
  let ourKeys: string[] = [];
  let ourSent: string[] = [];
  const deferredMs: number[] = [];
  let measured;
  let redOurs: NodeRedChild | undefined;
  let inbound: InboundLog | null = null;
  let allHandled = true;
  try {
    redOurs = await startNodeRed({ flows: ourFlows, credentials, cpuProfDir: config.cpuProfDir, label: 'bench-inbound-ours' }, log);
    reds.push(redOurs);
    const redBare = await startNodeRed({ flows: bareFlows, cpuProfDir: config.cpuProfDir, label: 'bench-inbound-bare' }, log);
    reds.push(redBare);
    log(`  exotel-inbound loaded from ${redOurs.loadedFrom}`);
    const ourUrl = `${redOurs.baseUrl}${OUR_PATH}?token=${WEBHOOK_TOKEN}`;
    const bareUrl = `${redBare.baseUrl}${BARE_PATH}`;
    const post = (url: string, sid: string) => fetch(url, { method: 'POST', headers: { 'content-type': FORM }, body: exotelFormBody(sid) });
    await waitForEndpoints(redOurs, [ourUrl], async (url) => {
      const sid = nextSid();
      const res = await post(url, sid);
      if (res.status === 200) probeSids.push(sid);
      return res;
    });
    await waitForEndpoints(redBare, [bareUrl], (url) => post(url, nextSid()));
    const reader = new InboundLog(redOurs.storePath);
    inbound = reader;
    const makeBody = () => {
      const sid = nextSid();
      return { key: sid, body: exotelFormBody(sid) };
    };
    const side = (name: string, red: NodeRedChild, url: string, ours: boolean): Side => ({
      name,
      async run(duration) {
        const cpuBefore = red.cpuMs();
        const { result, ok, okKeys, sentKeys } = await load({ url, connections: config.connections, duration, contentType: FORM, makeBody, collectKeys: ours });
        const loadEnd = performance.now();
        if (ours) {
          ourKeys = ourKeys.concat(okKeys);
          ourSent = ourSent.concat(sentKeys);
          // the deferred work: every SMS marked handled once its replay window has passed
          if (!(await reader.untilHandled())) allHandled = false;
        }
        const cpuAfter = await untilIdle(red);
        if (ours) deferredMs.push(round(performance.now() - loadEnd, 0));
        return figures(result, ok, cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore);
      },
    });
    measured = await alternate([side('ours', redOurs, ourUrl, true), side('bare', redBare, bareUrl, false)], config, log);
  } finally {
    inbound?.close();
    for (const red of reds) exits[red === redOurs ? 'ours' : 'bare'] = await red.stop();
  }
  if (!redOurs) throw new Error('Node-RED did not start');

  // Every SMS acknowledged with 200 must be in the inbound log, once. autocannon ends a run by closing
  // its connections with a request in flight on each: the server may have logged those without
  // autocannon seeing the 200. So: the log = the 200s + some of the requests in flight at a stop.
  const after = new InboundLog(redOurs.storePath);
  const logged = new Set(after.sids());
  const unhandledAfterStop = after.unhandled() ?? -1;
  after.close();
  const acked = new Set([...ourKeys, ...probeSids]);
  const inFlightAtStop = new Set(ourSent.filter((sid) => !acked.has(sid)));
  const ackedNotLogged = [...acked].filter((sid) => !logged.has(sid)).length;
  const loggedNotAcked = [...logged].filter((sid) => !acked.has(sid));
  const loggedNeverSent = loggedNotAcked.filter((sid) => !inFlightAtStop.has(sid)).length;
  const inFlightLogged = loggedNotAcked.length - loggedNeverSent;
  const duplicatesAcked = ourKeys.length + probeSids.length - acked.size;
  const stops = config.rounds + 1; // every run (warm-up and rounds) ends with at most one request in flight per connection
  const countsMatch = ackedNotLogged === 0 && duplicatesAcked === 0 && loggedNeverSent === 0 && logged.size === acked.size + inFlightLogged;
  if (countsMatch) redOurs.remove();
  else log(`  counts do not match: user dir kept at ${redOurs.userDir}`);
  for (const red of reds) if (red !== redOurs) red.remove();

  const { ours, bare } = measured;
  const ratios = {
    reqPerSec: ratio(ours.reqPerSec, bare.reqPerSec),
    p50: ratio(ours.p50Ms, bare.p50Ms),
    p99: ratio(ours.p99Ms, bare.p99Ms),
    cpuPerReq: ratio(ours.cpuUsPerReq, bare.cpuUsPerReq),
  };
  const perRoundRatios = ours.rounds.map((f, i) => ({ reqPerSec: ratio(f.reqPerSec, bare.rounds[i].reqPerSec), p99: ratio(f.latencyMs.p99, bare.rounds[i].latencyMs.p99) }));
  const row = (name: string, s: typeof ours) => [name, s.reqPerSec, s.p50Ms, s.p99Ms, s.cpuUsPerReq ?? 'n/a', s.non2xx, s.ok200];
  return {
    title: `Inbound acknowledgement: exotel-inbound vs bare http in → http response, each in its own Node-RED (${config.connections} connections, ${config.rounds} × ${config.duration} s, median)`,
    columns: ['flow', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'non-2xx', '200s'],
    rows: [
      row('ours (exotel-inbound)', ours),
      row('bare (http in/response)*', bare),
      ['ours / bare', ratios.reqPerSec, ratios.p50, ratios.p99, ratios.cpuPerReq ?? 'n/a', '', ''],
    ],
    targets: [
      { name: 'req/s ours ≥ 0.9 × bare', target: '≥ 0.9', actual: ratios.reqPerSec, pass: ratios.reqPerSec !== null && ratios.reqPerSec >= 0.9 },
      { name: 'p99 ours ≤ bare', target: '≤ 1.0', actual: ratios.p99, pass: ratios.p99 !== null && ratios.p99 <= 1.0 },
    ],
    checks: [
      check('non-2xx responses (ours / bare)', `${ours.non2xx} / ${bare.non2xx}`, ours.non2xx === 0 && bare.non2xx === 0),
      check('socket errors / timeouts (ours / bare)', `${ours.errors}/${ours.timeouts} / ${bare.errors}/${bare.timeouts}`, ours.errors + ours.timeouts + bare.errors + bare.timeouts === 0),
      check('inbound log rows = 200s on ours + logged in flight', `${logged.size} = ${acked.size} + ${inFlightLogged}`, countsMatch),
      check('acknowledged but not in the log', ackedNotLogged, ackedNotLogged === 0),
      check('SmsSids acknowledged twice', duplicatesAcked, duplicatesAcked === 0),
      check('in the log but never sent', loggedNeverSent, loggedNeverSent === 0),
      check(`requests in flight at a stop ≤ ${config.connections} connections × ${stops} runs`, inFlightAtStop.size, inFlightAtStop.size <= config.connections * stops),
      check('every run: all SMS marked handled within 60 s of its end', allHandled ? 'yes' : 'no', allHandled),
      check('log rows not marked handled after stop', unhandledAfterStop, unhandledAfterStop === 0),
      { ...cleanStop(exits.ours ?? null), name: 'ours: Node-RED stopped cleanly on SIGINT' },
      { ...cleanStop(exits.bare ?? null), name: 'bare: Node-RED stopped cleanly on SIGINT' },
    ],
    facts: [
      { name: 'in the log, 200 not seen: in flight at a stop', value: `${inFlightLogged} of ${inFlightAtStop.size}` },
      { name: 'ours: from the end of a run to idle (all marked handled), ms', value: deferredMs.join(' ') },
    ],
    notes: [
      '* bare: what a user would build from core nodes. It answers 200 and does nothing else: no token check, no dedupe of',
      '  Exotel\'s retries, nothing stored (an SMS is lost if Node-RED stops before the flow acts on it). Ours does all of these.',
      'CPU µs/req: the process\'s CPU time from the start of a run until it is idle again (ours: every SMS marked handled), a request.',
    ],
    data: { flows: { ours, bare }, ratios, perRoundRatios, deferredMs, counts: { inboundRows: logged.size, ok200: acked.size, inFlightAtStop: inFlightAtStop.size, inFlightLogged, ackedNotLogged, loggedNeverSent, duplicatesAcked, unhandledAfterStop }, exits, loadedFrom: redOurs.loadedFrom },
  };
}
