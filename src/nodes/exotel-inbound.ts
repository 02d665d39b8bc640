// exotel-inbound: the webhook Exotel calls for each SMS a customer sends. Authenticates, records
// the SMS durably, acknowledges with an empty 200, and only then hands it to the flow.
// The behaviour is in exotel-inbound/controller.ts; this file puts it on Node-RED's HTTP server.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { Request, Response } from 'express';
import { clusterOf, inboundTurns, takeOverEveryMs } from '../store';
import type { AccountNode } from './exotel-account';
import { InboundController, setUp } from './exotel-inbound/controller';
import { DEFAULT_HOLD_MS } from './conversation-state/controller';
import { RefusalRecorder } from './exotel-inbound/refusals';
import { answer, callOf, middlewareOf, removeRoutes } from './shared/http';
import { messages } from './shared/i18n';
import { acquireMessageCompletion, type MessageHooks } from './shared/message-completion';
import { whenFlowsStarted } from './shared/lifecycle';
import { openStore, packageSettings } from './shared/settings';
import { ThrottledStatus } from './shared/status';
import { migrate } from './contract';
import { contract } from './exotel-inbound/contract';
import { addCallbackToThread } from '../plugins/exotel-sms';
import { addSandboxEndpoint } from '../plugins/sandbox-endpoints';

export { DEFAULT_REPLAY_WINDOW_MS, normalisePath, type InboundMessage } from './exotel-inbound/controller';

interface InboundDef extends NodeDef {
  account: string;
  path: string;
  allowList?: string;
  wires?: string[][];
}

/** Paths in use in this runtime, so that a second node on one path is refused, not silently shadowed. */
const pathsInUse = new Map<string, string>();

export default function (RED: NodeAPI): void {
  function ExotelInboundNode(this: Node, def: InboundDef) {
    RED.nodes.createNode(this, def);
    def = migrate(contract, def);
    const node = this;
    const status = new ThrottledStatus(node);
    const m = messages(RED, 'exotel-inbound');
    const account = RED.nodes.getNode(def.account) as AccountNode | null;
    const setup = setUp(def, !!account, (path) => pathsInUse.get(path), node.id);
    if (!setup.ok || !account) {
      if (!setup.ok) {
        status.now('red', 'ring', m(setup.status, setup.vars));
        node.error(m(setup.error, setup.vars));
      }
      return;
    }
    const { routePath } = setup;
    pathsInUse.set(routePath, node.id);
    const handle = openStore(RED);
    // Follows each SMS through the flow, so that it counts as handled only once the flow is done with
    // it (a node without wires has nothing to wait for).
    const wired = (def.wires ?? []).some((wire) => wire.length > 0);
    const completion = wired ? acquireMessageCompletion((RED as unknown as { hooks?: MessageHooks }).hooks) : null;
    const cluster = clusterOf(handle.store);
    const settings = packageSettings(RED);
    // A sandbox account's node takes the sandbox phone's replies (in-process), and shows outside callbacks in its thread.
    const sandboxAccountId = account.mode === 'sandbox' ? account.id : null;
    const controller = new InboundController({
      routePath,
      allowList: setup.allowList,
      account,
      store: handle.store,
      translate: m,
      status,
      log: node,
      emit: (msg) => node.send(msg as unknown as NodeMessage),
      follow: completion?.follow,
      sandboxAccountId,
      onCallbackSms: sandboxAccountId ? (sms) => addCallbackToThread(RED, handle.store, sandboxAccountId, sms, routePath) : undefined,
      replayWindowMs: settings.replayWindowMs,
      probe: () => handle.store.schemaVersion(),
      takeOver: cluster ? { claim: (key) => cluster.takeOverInbound(routePath, key), everyMs: takeOverEveryMs(cluster) } : undefined,
      turns: cluster && completion ? inboundTurns(cluster, routePath, settings.conversationHoldMs ?? DEFAULT_HOLD_MS) : undefined,
      refusals: new RefusalRecorder({ store: handle.store, endpoint: routePath, account, log: node, translate: m }),
    });

    const middleware = middlewareOf(RED.settings);
    RED.httpNode.head(routePath, middleware, (req: Request, res: Response) => answer(res, controller.head(callOf(req))));
    const onCallback = (req: Request, res: Response) => void controller.callback(callOf(req), (reply) => answer(res, reply));
    RED.httpNode.get(routePath, middleware, onCallback);
    RED.httpNode.post(routePath, middleware, onCallback);

    const leaveSandbox = sandboxAccountId
      ? addSandboxEndpoint({ nodeId: node.id, accountId: sandboxAccountId, path: routePath, name: def.name ?? '', receive: (id, call) => controller.sandboxReply(id, call) })
      : null;

    whenFlowsStarted(RED, node, () => void controller.replay());

    node.on('close', (removed: boolean, done: () => void) => {
      removeRoutes(RED.httpNode, routePath);
      leaveSandbox?.();
      if (pathsInUse.get(routePath) === node.id) pathsInUse.delete(routePath);
      controller
        .close()
        .then(() => completion?.release())
        .then(() => handle.release())
        .then(done, done);
    });
  }

  RED.nodes.registerType('exotel-inbound', ExotelInboundNode as unknown as (this: Node, def: NodeDef) => void);
}
