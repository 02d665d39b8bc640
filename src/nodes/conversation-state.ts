// conversation-state: which question is this customer answering? Start, route, update, end and
// verify named conversations kept in the store, with step timeouts and one-time codes.
// The behaviour is in conversation-state/controller.ts, hold-queue.ts and timeout-poller.ts.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { ConversationController, type ConversationAction, type ConversationConfig, type ConversationMessage } from './conversation-state/controller';
import { messages } from './shared/i18n';
import { acquireMessageCompletion, type MessageHooks } from './shared/message-completion';
import { codeKey, openStore, packageSettings } from './shared/settings';
import { refuse, ThrottledStatus } from './shared/status';
import { evaluatorFor, onInput } from './shared/typed-input';
import { migrate } from './contract';
import { ACTIONS, contract } from './conversation-state/contract';

export { DEFAULT_CODE, DEFAULT_MAX_AGE_HOURS, view, type ConversationAction } from './conversation-state/controller';

interface ConversationDef extends NodeDef, ConversationConfig {}

export default function (RED: NodeAPI): void {
  function ConversationStateNode(this: Node, def: ConversationDef) {
    RED.nodes.createNode(this, def);
    def = migrate(contract, def);
    const node = this;
    const status = new ThrottledStatus(node, 1_000);
    const m = messages(RED, 'conversation-state');
    if (!(ACTIONS as readonly unknown[]).includes(def.action)) {
      return refuse(node, status, m('status.badAction'), m('error.badAction', { action: String(def.action).slice(0, 40) }));
    }
    if (!(def.conversation ?? '').trim()) return refuse(node, status, m('status.noName'), m('error.noName'));
    const handle = openStore(RED);
    const settings = packageSettings(RED);
    const routes = def.action === 'route';
    const completion = routes ? acquireMessageCompletion((RED as unknown as { hooks?: MessageHooks }).hooks) : null;
    const controller = new ConversationController({
      nodeId: node.id,
      config: def,
      store: handle.store,
      evaluate: evaluatorFor(RED, node),
      translate: m,
      status,
      log: node,
      send: (msg) => (node.send as (msg: unknown) => void)(msg),
      holdMs: settings.conversationHoldMs,
      watchCompletion: completion?.watch,
      codeKey: codeKey(RED),
      timerMs: settings.conversationTimerMs,
    });
    controller.attach();

    onInput(node, (msg, send, done) => controller.handle(msg as ConversationMessage, send, done));

    node.on('close', (done: () => void) => {
      controller.close();
      completion?.release();
      handle.release().then(done, done);
    });
  }

  RED.nodes.registerType('conversation-state', ConversationStateNode as unknown as (this: Node, def: NodeDef) => void);
}
