// keyword-switch: routes an SMS reply by keyword, one output per rule plus "otherwise".
// The behaviour is in keyword-switch/controller.ts.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { KeywordSwitchController, type KeywordMessage, type KeywordSwitchConfig } from './keyword-switch/controller';
import { messages } from './shared/i18n';
import { evaluatorFor, onInput } from './shared/typed-input';
import { migrate } from './contract';
import { contract } from './keyword-switch/contract';

interface KeywordSwitchDef extends NodeDef, KeywordSwitchConfig {
  outputs: number;
}

export default function (RED: NodeAPI): void {
  function KeywordSwitchNode(this: Node, def: KeywordSwitchDef) {
    RED.nodes.createNode(this, def);
    def = migrate(contract, def);
    const node = this;
    const m = messages(RED, 'keyword-switch');
    const controller = new KeywordSwitchController({ config: def, evaluate: evaluatorFor(RED, node), translate: m, clone: (msg) => RED.util.cloneMessage(msg as NodeMessage) as KeywordMessage });
    if (controller.problem) {
      node.status({ fill: 'red', shape: 'ring', text: m('status.invalidRule') });
      node.error(m('error.invalidRules', { problem: controller.problem }));
    }

    onInput(node, (msg, send, done) => {
      controller.route(msg as KeywordMessage).then((outputs) => {
        send(outputs);
        done();
      }, (err: Error) => done(err));
    });
  }

  RED.nodes.registerType('keyword-switch', KeywordSwitchNode as unknown as (this: Node, def: NodeDef) => void);
}
