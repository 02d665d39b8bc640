// exotel-send: sends msg.payload to msg.phone through the account's Exotel API, paced by the
// account's rate limit and retried on transient failures. Output 1: sent; output 2: failed; output 3:
// delivery reports.
// The behaviour is in exotel-send/controller.ts and exotel-send/outbox-dispatcher.ts.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { clusterOf, takeOverEveryMs } from '../store';
import type { AccountNode } from './exotel-account';
import { DEFAULT_RECONCILE_AFTER_MS, SendController, type SendConfig, type SendMessage } from './exotel-send/controller';
import { messages } from './shared/i18n';
import { whenFlowsStarted } from './shared/lifecycle';
import { codeKey, openStore, packageSettings, reconcileAfterMs, retentionMs } from './shared/settings';
import { listenForReports } from './shared/report-listeners';
import { ThrottledStatus } from './shared/status';
import { evaluatorFor, onInput } from './shared/typed-input';
import { migrate } from './contract';
import { contract } from './exotel-send/contract';
import { addSendNode } from '../plugins/send-nodes';

export { MAX_ATTEMPTS, OPT_OUT_CONFIRMATION_WINDOW_MS, PRIORITIES, SMS_TYPES } from './exotel-send/controller';

interface SendDef extends NodeDef, SendConfig {
  account: string;
}

export default function (RED: NodeAPI): void {
  function ExotelSendNode(this: Node, def: SendDef) {
    RED.nodes.createNode(this, def);
    def = migrate(contract, def);
    const node = this;
    const m = messages(RED, 'exotel-send');
    const account = RED.nodes.getNode(def.account) as AccountNode | null;
    const status = new ThrottledStatus(node);
    const handle = openStore(RED);
    const cluster = clusterOf(handle.store);
    const controller = new SendController({
      nodeId: node.id,
      nodeName: def.name ?? '',
      config: def,
      account,
      store: handle.store,
      evaluate: evaluatorFor(RED, node),
      translate: m,
      status,
      log: node,
      failureWired: () => ((node as unknown as { wires?: string[][] }).wires?.[1]?.length ?? 0) > 0,
      retryBaseDelayMs: packageSettings(RED).retryBaseDelayMs,
      codeKey: codeKey(RED),
      reconcileAfterMs: reconcileAfterMs(RED, DEFAULT_RECONCILE_AFTER_MS),
      takeOver: cluster
        ? { claim: (key) => cluster.takeOverOutbox(node.id, key), claimReports: (key) => cluster.takeOverReports(node.id, key), everyMs: takeOverEveryMs(cluster) }
        : undefined,
    });
    // Delivery reports of this node's SMS (output 3), from its account's endpoint or the sandbox.
    const stopListening = listenForReports(node.id, (record) => track(controller.onReport(record)));
    // The send log, failed sends and send claims are kept for exotelSms.retentionDays, then deleted.
    const purge = () => track(controller.purgeOld(retentionMs(RED)));
    const purgeTimer = setInterval(purge, 6 * 3_600_000);
    purgeTimer.unref();
    const inFlight = new Set<Promise<void>>();
    const track = (job: Promise<void>) => {
      inFlight.add(job);
      void job.finally(() => inFlight.delete(job));
    };

    const send = (msg: unknown) => (node.send as (msg: unknown) => void)(msg);
    // the SMS tab's outbox hands a failed send queued again to this node
    const leave = addSendNode({ nodeId: node.id, name: def.name ?? '', resend: (entry) => track(controller.resend(entry, send)) });

    onInput(node, (msg, send, done) => track(controller.handle(msg as SendMessage, send, done).catch((err) => done(err as Error))));

    node.on('close', (done: () => void) => {
      leave();
      stopListening();
      controller.stop();
      clearInterval(purgeTimer);
      Promise.allSettled([...inFlight])
        .then(() => handle.release())
        .then(done, done);
    });

    if (controller.checkAccount()) {
      whenFlowsStarted(RED, node, () => purge());
      whenFlowsStarted(RED, node, () => track(controller.resume(send).catch((err: Error) => node.error(m('error.readOutbox', { message: err.message })))));
    }
  }

  RED.nodes.registerType('exotel-send', ExotelSendNode as unknown as (this: Node, def: NodeDef) => void);
}
