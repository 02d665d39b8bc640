// opt-out-store: durable opt-in / opt-out records with an append-only history. exotel-send
// checks the same store before every send, so an opt-out holds in every flow without wiring.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { toE164 } from '../sms/phone';
import { readNumberList } from '../sms/number-list';
import type { OptOutRecord, OptStatus } from '../store';
import { evaluateProperty, messages, onInput, openStore, shown, ThrottledStatus } from './runtime';

import { migrate } from './contract';
import { ACTIONS, contract, type OptOutAction, type OptOutProps } from './opt-out-store/contract';

export type { OptOutAction };

type OptOutDef = NodeDef & OptOutProps;

type OptOutMessage = NodeMessageInFlow & {
  keyword?: unknown;
  sms?: { sid?: unknown };
  optOut?: unknown;
};

/** msg.optOut as flows see it. */
export function describe(phone: string, record: OptOutRecord | null, changed?: boolean) {
  return {
    phone,
    status: record ? record.status : 'unknown',
    updatedAt: record ? new Date(record.updatedAt).toISOString() : null,
    keyword: record ? record.keyword : null,
    source: record ? record.source : null,
    ...(changed === undefined ? {} : { changed }),
  };
}

const MAX_LISTED_INVALID = 20;

export default function (RED: NodeAPI): void {
  function OptOutStoreNode(this: Node, def: OptOutDef) {
    RED.nodes.createNode(this, def);
    def = migrate(contract, def);
    const node = this;
    const status = new ThrottledStatus(node);
    const m = messages(RED, 'opt-out-store');
    const action: OptOutAction = def.action;
    if (!ACTIONS.includes(action)) {
      status.now('red', 'ring', m('status.badAction'));
      node.error(m('error.badAction', { action: String(action).slice(0, 40) }));
      return;
    }
    const country = (def.defaultCountry || 'IN').toUpperCase();
    const handle = openStore(RED);
    const store = handle.store;

    const showCount = async () => {
      try {
        status.set('green', 'dot', m('status.optedOut', { count: await store.optedOutCount() }));
      } catch (err) {
        status.now('red', 'ring', m('status.storeUnavailable'));
      }
    };

    const phoneOf = async (msg: OptOutMessage): Promise<string> => {
      const value = await evaluateProperty(RED, node, def.phone || 'phone', def.phoneType || 'msg', msg);
      const phone = toE164(value, country, 'possible');
      if (!phone) throw new Error(m('error.notPhone', { value: shown(value) }));
      return phone;
    };

    const handlers: Record<OptOutAction, (msg: OptOutMessage, send: (m: unknown) => void) => Promise<void>> = {
      async optout(msg, send) {
        await change(msg, send, 'opted-out');
      },
      async optin(msg, send) {
        await change(msg, send, 'opted-in');
      },
      async get(msg, send) {
        const phone = await phoneOf(msg);
        msg.optOut = describe(phone, await store.getOptStatus(phone));
        send(msg);
      },
      async check(msg, send) {
        const phone = await phoneOf(msg);
        const record = await store.getOptStatus(phone);
        msg.optOut = describe(phone, record);
        if (!record) send([null, null, msg]);
        else if (record.status === 'opted-out') send([null, msg, null]);
        else send([msg, null, null]);
      },
      async import(msg, send) {
        const raw = readNumberList(msg.payload);
        if (!raw) throw new Error(m('error.importPayload'));
        const valid: string[] = [];
        const invalid: string[] = [];
        for (const item of raw) {
          const phone = toE164(item, country, 'possible');
          if (phone) valid.push(phone);
          else invalid.push(item);
        }
        const unique = [...new Set(valid)];
        const importAs: OptStatus = def.importAs === 'opted-in' ? 'opted-in' : 'opted-out';
        const result = await store.importOptStatus(unique, importAs, 'import');
        msg.payload = {
          total: raw.length,
          imported: unique.length,
          changed: result.changed,
          unchanged: result.unchanged,
          duplicates: valid.length - unique.length,
          invalid: invalid.length,
          invalidNumbers: invalid.slice(0, MAX_LISTED_INVALID),
          status: importAs,
        };
        if (invalid.length > 0) node.warn(m('warn.importInvalid', { count: invalid.length }));
        status.now('green', 'dot', m('status.imported', { imported: unique.length, invalid: invalid.length }));
        send(msg);
      },
      async export(msg, send) {
        msg.payload = (await store.exportOptStatus()).map((record) => describe(record.phone, record));
        send(msg);
      },
    };

    async function change(msg: OptOutMessage, send: (m: unknown) => void, to: OptStatus) {
      const phone = await phoneOf(msg);
      const keyword = typeof msg.keyword === 'string' && msg.keyword ? msg.keyword : null;
      const source = typeof msg.sms?.sid === 'string' && msg.sms.sid ? msg.sms.sid : 'manual';
      // Committed before the message moves on: a crash after this line cannot lose the opt-out.
      const result = await store.setOptStatus({ phone, status: to, keyword, source });
      msg.optOut = describe(phone, result.record, result.changed);
      send(msg);
    }

    onInput(
      node,
      (msg, send, done) => {
        handlers[action](msg as OptOutMessage, send)
          .then(() => {
            if (action !== 'import') void showCount();
            done();
          })
          .catch((err: Error) => {
            status.now('red', 'ring', err.message.length > 40 ? err.message.slice(0, 37) + '…' : err.message);
            done(err);
          });
      },
    );

    node.on('close', (done: () => void) => {
      status.stop();
      handle.release().then(done, done);
    });

    void showCount();
  }

  RED.nodes.registerType('opt-out-store', OptOutStoreNode as unknown as (this: Node, def: NodeDef) => void);
}
