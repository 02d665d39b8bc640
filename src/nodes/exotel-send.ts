// exotel-send: sends msg.payload to msg.phone through the account's Exotel API, paced by the
// account's rate limit and retried on transient failures. Output 1: sent; output 2: failed.
import { setMaxListeners } from 'node:events';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { SendError } from '../exotel/errors';
import { withRetry, DEFAULT_RETRY } from '../exotel/retry';
import type { SendRequest } from '../exotel/client';
import { countSegments } from '../sms/encoding';
import { toE164 } from '../sms/phone';
import { renderText } from '../sms/template';
import type { AccountNode } from './exotel-account';
import type { OutboxEntry } from '../store';
import { evaluateProperty, messages, onInput, openStore, packageSettings, shown, ThrottledStatus, whenFlowsStarted } from './runtime';

type SendDef = NodeDef & SendProps;

import { migrate } from './contract';
import { contract, MAX_ATTEMPTS, PRIORITIES, SMS_TYPES, type SendProps } from './exotel-send/contract';

type SendMessage = NodeMessageInFlow & {
  phone?: unknown;
  sms?: { sid?: string };
  dltTemplateId?: unknown;
  exotel?: unknown;
  error?: unknown;
};

export { MAX_ATTEMPTS, SMS_TYPES, PRIORITIES };
export const OPT_OUT_CONFIRMATION_WINDOW_MS = 10 * 60_000;

export default function (RED: NodeAPI): void {
  function ExotelSendNode(this: Node, def: SendDef) {
    RED.nodes.createNode(this, def);
    def = migrate(contract, def);
    const node = this;
    const status = new ThrottledStatus(node);
    const m = messages(RED, 'exotel-send');
    const account = RED.nodes.getNode(def.account) as AccountNode | null;
    const attempts = Math.min(MAX_ATTEMPTS, Math.max(1, Math.floor(Number(def.attempts) || DEFAULT_RETRY.attempts)));
    // Values Exotel would refuse are dropped here, with a warning, rather than fail every send.
    const smsType = (SMS_TYPES as readonly string[]).includes(def.smsType) ? def.smsType : '';
    const priority = (PRIORITIES as readonly string[]).includes(def.priority) ? def.priority : '';
    if (def.smsType && !smsType) node.warn(m('warn.smsType', { smsType: def.smsType, types: SMS_TYPES.join(', ') }));
    if (def.priority && !priority) node.warn(m('warn.priority', { priority: def.priority }));
    const baseDelayMs = packageSettings(RED).retryBaseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
    const policy = { ...DEFAULT_RETRY, attempts, baseDelayMs };
    const counts = { sent: 0, failed: 0 };
    const inFlight = new Set<Promise<void>>();
    const stopping = new AbortController();
    // every message waiting for the rate limit or a retry listens to it
    setMaxListeners(0, stopping.signal);
    // A retry waiting for its turn ends at once when the node stops, rather than hold up a redeploy.
    const wait = (ms: number) =>
      new Promise<void>((resolve, reject) => {
        const stopped = () => new SendError({ code: 'stopped', message: 'the node was stopped before the retry', retryable: true });
        if (stopping.signal.aborted) return reject(stopped());
        const onAbort = () => {
          clearTimeout(timer);
          reject(stopped());
        };
        const timer = setTimeout(() => {
          stopping.signal.removeEventListener('abort', onAbort);
          resolve();
        }, ms);
        stopping.signal.addEventListener('abort', onAbort, { once: true });
      });

    if (!account) {
      status.now('red', 'ring', m('status.noAccount'));
      node.error(m('error.noAccount'));
    } else if (account.configProblem) {
      status.now('red', 'ring', m('status.accountIncomplete'));
      node.error(m('error.accountCannotSend', { problem: account.configProblem }));
    }
    const handle = openStore(RED);
    const store = handle.store;

    const showCounts = () => status.set(counts.failed > 0 ? 'yellow' : 'green', 'dot', m('status.counts', counts));

    const evaluate = (value: string, type: string, msg: SendMessage) => evaluateProperty(RED, node, value, type, msg);

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
      else done(Object.assign(new Error(m('error.notSent', { message: info.message })), { code: info.code }));
    };

    const prepare = async (msg: SendMessage): Promise<SendRequest> => {
      if (!account) throw new SendError({ code: 'no_account', message: 'no Exotel account is configured on this node', retryable: false });
      const rawTo = await evaluate(def.to || 'phone', def.toType || 'msg', msg);
      const to = toE164(rawTo, account.defaultCountry, 'valid');
      if (!to) {
        throw new SendError({ code: 'invalid_number', message: `${shown(rawTo)} is not a valid phone number`, retryable: false });
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

    /** The message as it will be handed on after a restart: what JSON keeps of it. */
    const storable = (msg: SendMessage): unknown => {
      const { req: _req, res: _res, ...rest } = msg as SendMessage & { req?: unknown; res?: unknown };
      try {
        return JSON.parse(JSON.stringify(rest)) as unknown;
      } catch {
        return { _msgid: msg._msgid, payload: msg.payload, phone: msg.phone, topic: msg.topic };
      }
    };

    // Messages to one number go one after another, so that they arrive in the order they were sent,
    // retries included.
    const chains = new Map<string, Promise<void>>();
    const inOrder = (phone: string, job: () => Promise<void>): Promise<void> => {
      const next = (chains.get(phone) ?? Promise.resolve()).then(job, job);
      chains.set(phone, next);
      void next.finally(() => {
        if (chains.get(phone) === next) chains.delete(phone);
      });
      return next;
    };

    interface Outgoing {
      outboxId: number;
      request: SendRequest;
      claimKey: string | null;
      confirmationClaimed: boolean;
    }

    /** Sends one message of the outbox: pacing, opt-out guard, retries; hands it on when it ends. */
    const dispatch = async (out: Outgoing, msg: SendMessage, send: (m: unknown) => void, done: (err?: Error) => void) => {
      const { request } = out;
      const client = account?.client;
      if (!account || !client) {
        // The account went away while the message waited: it stays in the outbox for the next start.
        return done();
      }
      // The opt-out guard, again right before each attempt: a STOP that arrives while this message
      // waits for the rate limit still stops it.
      const guard = async () => {
        if (out.confirmationClaimed || !(await store.isOptedOut(request.to))) return;
        throw new SendError({ code: 'opted_out', message: `${request.to} has opted out: nothing was sent`, retryable: false });
      };
      let attempts = 0;
      try {
        const result = await withRetry(
          policy,
          async (n) => {
            attempts = n;
            const release = await account.limiter.acquire(stopping.signal);
            let dispatched = false;
            try {
              await guard();
              return await client.send(request, () => {
                dispatched = true;
                void store.markOutboxSending(out.outboxId);
              });
            } finally {
              release(dispatched);
            }
          },
          (err, _waitMs, n) => void store.noteOutboxAttempt(out.outboxId, n, err.toJSON()).catch(() => undefined),
          wait,
        );
        await store.removeFromOutbox(out.outboxId);
        msg.exotel = { ...result, segments: result.segments || countSegments(request.body).segments };
        counts.sent++;
        showCounts();
        send([msg, null]);
        done();
      } catch (thrown) {
        const err = thrown instanceof SendError ? thrown : new SendError({ code: 'internal', message: String((thrown as Error)?.message ?? thrown), retryable: false });
        if (err.code === 'stopped') {
          // Node-RED is stopping or redeploying: the message stays queued in the outbox and goes
          // out when this node starts again.
          return done();
        }
        await store.failOutboxEntry(out.outboxId, attempts, err.toJSON()).catch(() => undefined);
        if (out.claimKey) await store.releaseSend(node.id, out.claimKey).catch(() => undefined);
        if (out.confirmationClaimed) await store.releaseOptOutConfirmation(request.to).catch(() => undefined);
        fail(msg, send, done, err);
      }
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
      // The opt-out guard before the queue; an opt-out confirmation node may take the number's one confirmation.
      let confirmationClaimed = false;
      if (await store.isOptedOut(request.to)) {
        confirmationClaimed =
          !!def.optOutConfirmation && (await store.claimOptOutConfirmation(request.to, OPT_OUT_CONFIRMATION_WINDOW_MS));
        if (!confirmationClaimed) {
          return fail(msg, send, done, new SendError({ code: 'opted_out', message: `${request.to} has opted out: nothing was sent`, retryable: false }));
        }
      }
      // In the store before it waits for anything, so that a restart does not lose it; together with
      // the claim of the one send per inbound SMS and recipient, so that a replayed SMS sends nothing twice.
      const inboundSid = typeof msg.sms?.sid === 'string' ? msg.sms.sid : undefined;
      const claimKey = inboundSid ? `${inboundSid}>${request.to}` : null;
      const outboxId = await store.addToOutbox({ nodeId: node.id, phone: request.to, request, message: storable(msg), claimKey, confirmation: confirmationClaimed });
      if (outboxId === null) {
        if (confirmationClaimed) await store.releaseOptOutConfirmation(request.to).catch(() => undefined);
        node.debug?.(`already sent for ${inboundSid}`);
        return done();
      }
      await inOrder(request.to, () => dispatch({ outboxId, request, claimKey, confirmationClaimed }, msg, send, done));
    };

    /** After a restart: what this node had queued goes out, once, in order. */
    const resume = async () => {
      const send = (m: unknown) => (node.send as (m: unknown) => void)(m);
      const messageOf = (entry: OutboxEntry) => (entry.message && typeof entry.message === 'object' ? entry.message : {}) as SendMessage;
      const doneFor = (msg: SendMessage) => (err?: Error) => {
        if (err) node.error(err, msg);
      };
      // Asked of Exotel when Node-RED died: it may have gone out or not. Sending it again could give
      // the customer two; it fails instead, with the reason, for someone to look at.
      for (const entry of await store.outboxEntries(node.id, 'sending')) {
        const err = new SendError({
          code: 'interrupted',
          message: `Node-RED stopped while Exotel was being asked to send this SMS to ${entry.phone}: it may or may not have gone out, so it is not sent again`,
          retryable: false,
          maybeSent: true,
        });
        await store.failOutboxEntry(entry.id, entry.attempts, err.toJSON());
        fail(messageOf(entry), send, doneFor(messageOf(entry)), err);
      }
      const queued = await store.outboxEntries(node.id, 'queued');
      if (queued.length === 0) return;
      node.log(m('log.resume', { count: queued.length }));
      for (const entry of queued) {
        const msg = messageOf(entry);
        const done = doneFor(msg);
        const job = inOrder(entry.phone, () =>
          dispatch({ outboxId: entry.id, request: entry.request as SendRequest, claimKey: entry.claimKey, confirmationClaimed: entry.confirmation }, msg, send, done),
        );
        inFlight.add(job);
        void job.finally(() => inFlight.delete(job));
      }
    };

    onInput(node, (msg, send, done) => {
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

    if (account && !account.configProblem) {
      status.now('grey', 'ring', m('status.ready'));
      whenFlowsStarted(RED, node, () => resume().catch((err: Error) => node.error(m('error.readOutbox', { message: err.message }))));
    }
  }

  RED.nodes.registerType('exotel-send', ExotelSendNode as unknown as (this: Node, def: NodeDef) => void);
}
