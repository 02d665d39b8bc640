// exotel-send: sends msg.payload to msg.phone through the account's Exotel API, paced by the
// account's rate limit and retried on transient failures. Output 1: sent; output 2: failed.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { SendError } from '../exotel/errors';
import { withRetry, DEFAULT_RETRY } from '../exotel/retry';
import type { SendRequest } from '../exotel/client';
import { countSegments } from '../sms/encoding';
import { toE164 } from '../sms/phone';
import { renderText } from '../sms/template';
import type { AccountNode } from './exotel-account';
import { openStore, packageSettings, ThrottledStatus } from './runtime';

interface SendDef extends NodeDef {
  account: string;
  to: string;
  toType: string;
  text: string;
  textType: string;
  from: string;
  dltTemplateId: string;
  smsType: string;
  priority: string;
  statusCallback: string;
  attempts: number | string;
  /** this node sends the confirmation of an opt-out: one message within 10 minutes of it may pass */
  optOutConfirmation?: boolean;
}

type SendMessage = NodeMessageInFlow & {
  phone?: unknown;
  sms?: { sid?: string };
  dltTemplateId?: unknown;
  exotel?: unknown;
  error?: unknown;
};

export const SMS_TYPES = ['transactional', 'transactional_opt_in', 'promotional'];
export const PRIORITIES = ['normal', 'high'];
export const MAX_ATTEMPTS = 10;
export const OPT_OUT_CONFIRMATION_WINDOW_MS = 10 * 60_000;

export default function (RED: NodeAPI): void {
  function ExotelSendNode(this: Node, def: SendDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new ThrottledStatus(node);
    const account = RED.nodes.getNode(def.account) as AccountNode | null;
    const attempts = Math.min(MAX_ATTEMPTS, Math.max(1, Math.floor(Number(def.attempts) || DEFAULT_RETRY.attempts)));
    // Values Exotel would refuse are dropped here, with a warning, rather than fail every send.
    const smsType = SMS_TYPES.includes(def.smsType) ? def.smsType : '';
    const priority = PRIORITIES.includes(def.priority) ? def.priority : '';
    if (def.smsType && !smsType) node.warn(`SMS type "${def.smsType}" is not one of ${SMS_TYPES.join(', ')}: the account's default is used`);
    if (def.priority && !priority) node.warn(`priority "${def.priority}" is not normal or high: Exotel's default is used`);
    const baseDelayMs = packageSettings(RED).retryBaseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
    const policy = { ...DEFAULT_RETRY, attempts, baseDelayMs };
    const counts = { sent: 0, failed: 0 };
    const inFlight = new Set<Promise<void>>();
    const stopping = new AbortController();
    // A retry waiting for its turn ends at once when the node stops, rather than hold up a redeploy.
    const wait = (ms: number) =>
      new Promise<void>((resolve, reject) => {
        if (stopping.signal.aborted) return reject(new SendError({ code: 'stopped', message: 'the node was stopped before the retry', retryable: true }));
        const timer = setTimeout(resolve, ms);
        stopping.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new SendError({ code: 'stopped', message: 'the node was stopped before the retry', retryable: true }));
        }, { once: true });
      });

    if (!account) {
      status.now('red', 'ring', 'no Exotel account');
      node.error('exotel-send needs an Exotel account: open the node and choose one');
    } else if (account.configProblem) {
      status.now('red', 'ring', 'account incomplete');
      node.error(`The Exotel account cannot send: ${account.configProblem}`);
    }
    const handle = openStore(RED);
    const store = handle.store;

    const showCounts = () => status.set(counts.failed > 0 ? 'yellow' : 'green', 'dot', `${counts.sent} sent · ${counts.failed} failed`);

    const evaluate = (value: string, type: string, msg: SendMessage): Promise<unknown> =>
      new Promise((resolve, reject) => {
        RED.util.evaluateNodeProperty(value, type, node, msg, (err: Error | null, result: unknown) => (err ? reject(err) : resolve(result)));
      });

    const fail = (msg: SendMessage, send: (m: unknown) => void, done: (err?: Error) => void, err: SendError) => {
      const info = err.toJSON();
      if (account) info.message = account.redact(info.message);
      msg.error = info;
      counts.failed++;
      showCounts();
      send([null, msg]);
      // Unwired failure output: report through done(err) so that a Catch node and the debug sidebar see it.
      const failureWired = ((node as unknown as { wires?: string[][] }).wires?.[1]?.length ?? 0) > 0;
      if (failureWired) done();
      else done(Object.assign(new Error(`SMS not sent: ${info.message}`), { code: info.code }));
    };

    const prepare = async (msg: SendMessage): Promise<SendRequest> => {
      if (!account) throw new SendError({ code: 'no_account', message: 'no Exotel account is configured on this node', retryable: false });
      const rawTo = await evaluate(def.to || 'phone', def.toType || 'msg', msg);
      const to = toE164(rawTo, account.defaultCountry, 'valid');
      if (!to) {
        const shown = typeof rawTo === 'string' || typeof rawTo === 'number' ? `"${String(rawTo).slice(0, 40)}"` : 'nothing';
        throw new SendError({ code: 'invalid_number', message: `${shown} is not a valid phone number`, retryable: false });
      }
      const textType = def.textType || 'msg';
      let body: unknown = textType === 'str' ? renderText(def.text ?? '', msg) : await evaluate(def.text || 'payload', textType, msg);
      if (typeof body === 'number' || typeof body === 'boolean') body = String(body);
      if (typeof body !== 'string') throw new SendError({ code: 'invalid_text', message: 'the text to send is not text', retryable: false });
      if (body.trim() === '') throw new SendError({ code: 'empty_text', message: 'the text to send is empty', retryable: false });
      const from = (def.from ?? '').trim() || account.defaultFrom;
      if (!from) throw new SendError({ code: 'no_sender', message: 'no sender: set "From" on the node or a default sender on the account', retryable: false });
      const templateId = (def.dltTemplateId ?? '').trim() || (typeof msg.dltTemplateId === 'string' || typeof msg.dltTemplateId === 'number' ? String(msg.dltTemplateId) : '');
      if (account.dltEntityId && !templateId) {
        // India's DLT: Exotel refuses a message without its registered template; say so before calling.
        throw new SendError({ code: 'no_dlt_template', message: 'no DLT template id: set it on the node or in msg.dltTemplateId', retryable: false });
      }
      return {
        from,
        to,
        body,
        encoding: countSegments(body).encoding,
        dltEntityId: account.dltEntityId || undefined,
        dltTemplateId: templateId || undefined,
        smsType: smsType || undefined,
        priority: priority || undefined,
        statusCallback: (def.statusCallback ?? '').trim() || undefined,
      };
    };

    const deliver = async (msg: SendMessage, send: (m: unknown) => void, done: (err?: Error) => void) => {
      let request: SendRequest;
      try {
        request = await prepare(msg);
      } catch (err) {
        return fail(msg, send, done, err instanceof SendError ? err : new SendError({ code: 'invalid_input', message: (err as Error).message, retryable: false }));
      }
      if (!account?.client) {
        return fail(msg, send, done, new SendError({ code: 'not_configured', message: `the Exotel account cannot send: ${account?.configProblem ?? 'no account'}`, retryable: false }));
      }
      // One send per inbound SMS and recipient, even when the inbound SMS is handed on again after a restart.
      const inboundSid = typeof msg.sms?.sid === 'string' ? msg.sms.sid : undefined;
      const claimKey = inboundSid ? `${inboundSid}>${request.to}` : undefined;
      if (claimKey && !(await store.claimSend(node.id, claimKey))) {
        node.debug?.(`already sent for ${inboundSid}`);
        return done();
      }
      const client = account.client;
      let confirmationClaimed = false;
      // The opt-out guard, before the queue and again right before each attempt: a STOP that
      // arrives while this message waits for the rate limit still stops it.
      const guard = async () => {
        if (confirmationClaimed || !(await store.isOptedOut(request.to))) return;
        if (def.optOutConfirmation && (await store.claimOptOutConfirmation(request.to, OPT_OUT_CONFIRMATION_WINDOW_MS))) {
          confirmationClaimed = true;
          return;
        }
        throw new SendError({ code: 'opted_out', message: `${request.to} has opted out: nothing was sent`, retryable: false });
      };
      try {
        await guard();
        const result = await withRetry(policy, async () => {
          await account.limiter.acquire();
          await guard();
          return client.send(request);
        }, undefined, wait);
        msg.exotel = { ...result, segments: result.segments || countSegments(request.body).segments };
        counts.sent++;
        showCounts();
        send([msg, null]);
        done();
      } catch (err) {
        if (claimKey) await store.releaseSend(node.id, claimKey).catch(() => undefined);
        if (confirmationClaimed) await store.releaseOptOutConfirmation(request.to).catch(() => undefined);
        fail(msg, send, done, err instanceof SendError ? err : new SendError({ code: 'internal', message: String((err as Error)?.message ?? err), retryable: false }));
      }
    };

    (node as unknown as { on(event: 'input', listener: (msg: NodeMessageInFlow, send: (m: unknown) => void, done: (err?: Error) => void) => void): void }).on('input', (msg, send, done) => {
      const job = deliver(msg as SendMessage, send, done).catch((err) => done(err as Error));
      inFlight.add(job);
      job.finally(() => inFlight.delete(job));
    });

    node.on('close', (done: () => void) => {
      status.stop();
      stopping.abort();
      Promise.allSettled([...inFlight])
        .then(() => handle.release())
        .then(done, done);
    });

    if (account && !account.configProblem) status.now('grey', 'ring', 'ready');
  }

  RED.nodes.registerType('exotel-send', ExotelSendNode as unknown as (this: Node, def: NodeDef) => void);
}
