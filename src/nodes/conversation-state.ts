// conversation-state: which question is this customer answering? Start, route, update, end and
// verify named conversations kept in the store, with step timeouts and one-time codes.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { codeMatches, generateCode, hashCode, newSalt } from '../sms/one-time-code';
import { toE164 } from '../sms/phone';
import type { ConversationRecord } from '../store';
import { evaluateProperty, messages, onInput, openStore, packageSettings, ThrottledStatus, type Done, type Send } from './runtime';

import { migrate } from './contract';
import { ACTIONS, contract, DEFAULT_CODE, DEFAULT_MAX_AGE_HOURS, type ConversationAction, type ConversationProps } from './conversation-state/contract';

export { DEFAULT_CODE, DEFAULT_MAX_AGE_HOURS, type ConversationAction };

type ConversationDef = NodeDef & ConversationProps;

type ConversationMessage = NodeMessageInFlow & {
  phone?: unknown;
  keyword?: unknown;
  sms?: { sid?: unknown };
  conversation?: unknown;
  verification?: unknown;
};


const DEFAULT_HOLD_MS = 2_000;
const DEFAULT_TIMER_MS = 1_000;
const PURGE_EVERY_MS = 60_000;

/** Route nodes by conversation name: the first of each name fires that conversation's timeouts. */
const routeNodes = new Map<string, string[]>();

function positive(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

function optionalMinutes(value: unknown): number | null {
  if (value === '' || value === undefined || value === null) return null;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n * 60_000 : null;
}

/** The reply to keep: the keyword keyword-switch matched ("1" for "१."), else the text as sent. */
function replyOf(msg: { keyword?: unknown; payload?: unknown }): unknown {
  if (typeof msg.keyword === 'string' && msg.keyword) return msg.keyword;
  return typeof msg.payload === 'string' ? msg.payload.trim() : msg.payload;
}

/** msg.conversation as flows see it. */
export function view(record: ConversationRecord, extra: Record<string, unknown> = {}) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    name: record.name,
    key: record.key,
    step: record.step,
    data: record.data,
    startedAt: iso(record.startedAt),
    updatedAt: iso(record.updatedAt),
    expiresAt: iso(record.expiresAt),
    timesOutAt: iso(record.deadlineAt),
    ...extra,
  };
}

export default function (RED: NodeAPI): void {
  function ConversationStateNode(this: Node, def: ConversationDef) {
    RED.nodes.createNode(this, def);
    def = migrate(contract, def);
    const node = this;
    const status = new ThrottledStatus(node, 1_000);
    const m = messages(RED, 'conversation-state');
    const name = (def.conversation ?? '').trim();
    const action: ConversationAction = def.action;
    const steps = Array.isArray(def.steps) ? def.steps.map((s) => String(s).trim()).filter(Boolean) : [];
    const settings = packageSettings(RED);
    const holdMs = settings.conversationHoldMs ?? DEFAULT_HOLD_MS;
    const timerMs = settings.conversationTimerMs ?? DEFAULT_TIMER_MS;

    if (!ACTIONS.includes(action)) {
      status.now('red', 'ring', m('status.badAction'));
      node.error(m('error.badAction', { action: String(action).slice(0, 40) }));
      return;
    }
    if (!name) {
      status.now('red', 'ring', m('status.noName'));
      node.error(m('error.noName'));
      return;
    }
    const handle = openStore(RED);
    const store = handle.store;
    const cleanups: Array<() => void> = [];
    let closed = false;

    // ---- status: active conversations of this name, refreshed at most once a second
    let countDirty = true;
    const refreshCount = async () => {
      if (!countDirty || closed) return;
      countDirty = false;
      try {
        const count = await store.activeConversationCount(name);
        status.set(count > 0 ? 'green' : 'grey', count > 0 ? 'dot' : 'ring', m('status.active', { count, action }));
      } catch {
        status.now('red', 'ring', m('status.storeUnavailable'));
      }
    };
    const countTimer = setInterval(refreshCount, 1_000);
    cleanups.push(() => clearInterval(countTimer));
    cleanups.push(store.onConversationChange((changed) => {
      if (changed === name) countDirty = true;
    }));
    void refreshCount();

    // ---- helpers
    const evaluate = (value: string, type: string, msg: ConversationMessage) => evaluateProperty(RED, node, value, type, msg);

    const keyOf = async (msg: ConversationMessage): Promise<string> => {
      const raw = await evaluate(def.key || 'phone', def.keyType || 'msg', msg);
      if (typeof raw !== 'string' && typeof raw !== 'number') throw new Error(m('error.noCustomer', { property: `${def.keyType || 'msg'}.${def.key || 'phone'}` }));
      const key = toE164(raw, 'IN', 'possible') ?? String(raw).trim();
      if (!key) throw new Error(m('error.noCustomer', { property: `${def.keyType || 'msg'}.${def.key || 'phone'}` }));
      return key;
    };

    const dataOf = async (msg: ConversationMessage): Promise<Record<string, unknown> | undefined> => {
      let data: Record<string, unknown> | undefined;
      if (def.data && def.dataType && def.dataType !== 'none') {
        const value = await evaluate(def.data, def.dataType, msg);
        if (value !== undefined && value !== null) {
          if (typeof value !== 'object' || Array.isArray(value)) throw new Error(m('error.dataNotObject', { property: `${def.dataType}.${def.data}` }));
          data = { ...(value as Record<string, unknown>) };
        }
      }
      const saveAs = action === 'update' || action === 'end' ? (def.saveAs ?? '').trim() : '';
      if (saveAs) data = { ...(data ?? {}), [saveAs]: replyOf(msg) };
      return data;
    };

    const sidOf = (msg: ConversationMessage) => (typeof msg.sms?.sid === 'string' && msg.sms.sid ? `${node.id}:${msg.sms.sid}` : null);

    // ---- actions other than route: one message in, one state change, the message out
    const handlers: Record<Exclude<ConversationAction, 'route'>, (msg: ConversationMessage, send: Send) => Promise<void>> = {
      async start(msg, send) {
        const key = await keyOf(msg);
        const step = (def.step ?? '').trim() || 'start';
        let code: string | null = null;
        let codeSpec = null;
        if (def.code) {
          code = generateCode(Math.floor(positive(def.codeLength, DEFAULT_CODE.length)));
          const salt = newSalt();
          codeSpec = {
            hash: hashCode(code, salt),
            salt,
            lifetimeMs: positive(def.codeLifetime, DEFAULT_CODE.lifetimeMinutes) * 60_000,
            attempts: Math.floor(positive(def.codeAttempts, DEFAULT_CODE.attempts)),
          };
        }
        const record = await store.startConversation({
          name,
          key,
          step,
          data: (await dataOf(msg)) ?? {},
          maxAgeMs: positive(def.maxAge, DEFAULT_MAX_AGE_HOURS) * 3_600_000,
          timeoutMs: optionalMinutes(def.timeout),
          code: codeSpec,
          sid: sidOf(msg),
        });
        // The code leaves in this message only (for the SMS text); the store keeps a hash. A replayed
        // SMS finds the conversation it started already there, whose code nobody knows any more.
        const fresh = code !== null && record.code?.hash === codeSpec?.hash;
        msg.conversation = view(record, fresh && record.code ? { code, codeExpiresAt: new Date(record.code.expiresAt).toISOString() } : {});
        send(msg);
      },
      async update(msg, send) {
        const key = await keyOf(msg);
        const step = (def.step ?? '').trim();
        const timeoutMs = optionalMinutes(def.timeout);
        const record = await store.updateConversation(name, key, {
          step: step || undefined,
          data: await dataOf(msg),
          timeoutMs: timeoutMs ?? (step ? null : undefined),
          sid: sidOf(msg),
        });
        msg.conversation = record ? view(record) : null;
        send(msg);
      },
      async end(msg, send) {
        const key = await keyOf(msg);
        const record = await store.endConversation(name, key, await dataOf(msg), sidOf(msg) ?? undefined);
        msg.conversation = record ? view(record, { ended: true }) : null;
        send(msg);
      },
      async verify(msg, send) {
        const key = await keyOf(msg);
        const check = await store.checkCode(name, key, (hash, salt) => codeMatches(msg.payload, hash, salt), sidOf(msg) ?? undefined);
        const attemptsLeft = check.result === 'wrong' ? check.conversation?.code?.attemptsLeft ?? 0 : 0;
        msg.verification = { result: check.result, attemptsLeft };
        msg.conversation = check.conversation ? view(check.conversation, { attemptsLeft }) : null;
        if (check.result === 'verified') send([msg, null, null]);
        else if (check.result === 'wrong') send([null, msg, null]);
        else send([null, null, msg]);
      },
    };

    // ---- route: one output per step, then "no active conversation", then "timed out"
    const outputs = steps.length + 2;
    const routeOutput = (index: number, msg: unknown) => {
      const out: unknown[] = new Array(outputs).fill(null);
      out[index] = msg;
      return out;
    };
    // Messages of one customer are routed one at a time: the next waits until the flow has changed
    // the conversation (or holdMs has passed), so that it is routed by the new state.
    const holding = new Map<string, NodeJS.Timeout>();
    const waiting = new Map<string, Array<{ msg: ConversationMessage; send: Send; done: Done }>>();

    const release = (key: string) => {
      const timer = holding.get(key);
      if (!timer) return;
      clearTimeout(timer);
      holding.delete(key);
      const queue = waiting.get(key);
      const next = queue?.shift();
      if (queue && queue.length === 0) waiting.delete(key);
      if (next) void routeNow(key, next.msg, next.send, next.done);
    };

    const routeNow = async (key: string, msg: ConversationMessage, send: Send, done: Done) => {
      holding.set(key, setTimeout(() => release(key), holdMs));
      try {
        const record = await store.getConversation(name, key, sidOf(msg) ?? undefined);
        if (!record) {
          msg.conversation = null;
          send(routeOutput(steps.length, msg));
        } else {
          msg.conversation = view(record);
          const index = steps.indexOf(record.step);
          if (index === -1) {
            node.warn(m('warn.unknownStep', { name, step: record.step }));
            send(routeOutput(steps.length, msg));
          } else send(routeOutput(index, msg));
        }
        done();
      } catch (err) {
        release(key);
        done(err as Error);
      }
    };

    if (action === 'route') {
      cleanups.push(store.onConversationChange((changed, key) => {
        if (changed === name && holding.has(key)) setImmediate(() => release(key));
      }));
      const peers = routeNodes.get(name) ?? [];
      routeNodes.set(name, [...peers, node.id]);
      cleanups.push(() => {
        const left = (routeNodes.get(name) ?? []).filter((id) => id !== node.id);
        if (left.length) routeNodes.set(name, left);
        else routeNodes.delete(name);
      });
      let lastPurge = 0;
      let polling = false;
      // Deadlines live in the store: after a restart they fire too, late rather than never.
      const poll = async () => {
        if (polling || closed || routeNodes.get(name)?.[0] !== node.id) return;
        polling = true;
        try {
          const now = Date.now();
          for (;;) {
            const due = await store.takeDueConversations(name, now, 100);
            for (const record of due) {
              const msg = { phone: record.key, payload: '', conversation: view(record, { timedOut: true }) };
              (node.send as (m: unknown) => void)(routeOutput(steps.length + 1, msg));
            }
            if (due.length < 100) break;
          }
          if (now - lastPurge > PURGE_EVERY_MS) {
            lastPurge = now;
            await store.purgeExpiredConversations(now);
          }
        } catch (err) {
          node.error(m('error.timeouts', { message: (err as Error).message }));
        } finally {
          polling = false;
        }
      };
      const pollTimer = setInterval(poll, timerMs);
      cleanups.push(() => clearInterval(pollTimer));
    }

    onInput(node, (raw, send, done) => {
      const msg = raw as ConversationMessage;
      if (action === 'route') {
        keyOf(msg).then(
          (key) => {
            if (holding.has(key)) {
              const queue = waiting.get(key) ?? [];
              queue.push({ msg, send, done });
              waiting.set(key, queue);
            } else void routeNow(key, msg, send, done);
          },
          (err: Error) => done(err),
        );
        return;
      }
      handlers[action](msg, send).then(
        () => done(),
        (err: Error) => {
          status.now('red', 'ring', err.message.length > 40 ? err.message.slice(0, 37) + '…' : err.message);
          done(err);
        },
      );
    });

    node.on('close', (done: () => void) => {
      closed = true;
      for (const cleanup of cleanups) cleanup();
      for (const timer of holding.values()) clearTimeout(timer);
      holding.clear();
      // Messages still waiting their turn are reported (Catch node, debug sidebar), not dropped silently.
      for (const [, queue] of waiting) for (const item of queue) item.done(new Error(m('error.stopped')));
      waiting.clear();
      status.stop();
      handle.release().then(done, done);
    });
  }

  RED.nodes.registerType('conversation-state', ConversationStateNode as unknown as (this: Node, def: NodeDef) => void);
}
