// opt-out-store: durable opt-in / opt-out records with an append-only history. exotel-send
// checks the same store before every send, so an opt-out holds in every flow without wiring.
// The behaviour is in opt-out-store/controller.ts.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { OptOutController, type OptOutConfig, type OptOutMessage } from './opt-out-store/controller';
import { messages } from './shared/i18n';
import { openStore } from './shared/settings';
import { refuse, ThrottledStatus } from './shared/status';
import { evaluatorFor, onInput } from './shared/typed-input';
import { migrate } from './contract';
import { ACTIONS, contract } from './opt-out-store/contract';

export { describe, type OptOutAction } from './opt-out-store/controller';

interface OptOutDef extends NodeDef, OptOutConfig {}

export default function (RED: NodeAPI): void {
  function OptOutStoreNode(this: Node, def: OptOutDef) {
    RED.nodes.createNode(this, def);
    def = migrate(contract, def);
    const node = this;
    const status = new ThrottledStatus(node);
    const m = messages(RED, 'opt-out-store');
    if (!(ACTIONS as readonly unknown[]).includes(def.action)) {
      return refuse(node, status, m('status.badAction'), m('error.badAction', { action: String(def.action).slice(0, 40) }));
    }
    const handle = openStore(RED);
    const controller = new OptOutController({
      config: def,
      store: handle.store,
      evaluate: evaluatorFor(RED, node),
      translate: m,
      status,
      log: node,
    });

    onInput(node, (msg, send, done) => controller.handle(msg as OptOutMessage, send, done));

    node.on('close', (done: () => void) => {
      status.stop();
      handle.release().then(done, done);
    });

    void controller.showCount();
  }

  RED.nodes.registerType('opt-out-store', OptOutStoreNode as unknown as (this: Node, def: NodeDef) => void);
}
