// keyword-switch: routes an SMS reply by keyword, one output per rule plus "otherwise" (always
// last, so that an unknown keyword still gets an answer). The matching lives in sms/keywords.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { compileRules, matchReply, normaliseReply, type CompiledRules, type ReplyMatch, type RuleDef } from '../sms/keywords';
import { evaluateProperty, messages, onInput } from './runtime';
import { migrate } from './contract';
import { contract, type KeywordSwitchProps } from './keyword-switch/contract';

type KeywordSwitchDef = NodeDef & KeywordSwitchProps;

type KeywordMessage = NodeMessageInFlow & {
  keyword?: string;
  match?: { rule: number | null; kind: string; text: string; fuzzy: boolean };
};

export default function (RED: NodeAPI): void {
  function KeywordSwitchNode(this: Node, def: KeywordSwitchDef) {
    RED.nodes.createNode(this, def);
    def = migrate(contract, def);
    const node = this;
    const m = messages(RED, 'keyword-switch');
    const rules = Array.isArray(def.rules) ? def.rules : [];
    const property = def.property || 'payload';
    const propertyType = def.propertyType || 'msg';
    const allMatches = def.checkall === 'true' || (def.checkall as unknown) === true;
    const shownProperty =
      propertyType === 'msg' || propertyType === 'flow' || propertyType === 'global' ? `${propertyType}.${property}`
        : propertyType === 'env' ? m('property.env', { name: property })
          : m('property.expression');

    let compiled: CompiledRules | null = null;
    let problem = '';
    try {
      compiled = compileRules(rules, { matchMode: def.matchMode, typos: def.typos === true });
    } catch (err) {
      problem = (err as Error).message;
      node.status({ fill: 'red', shape: 'ring', text: m('status.invalidRule') });
      node.error(m('error.invalidRules', { problem }));
    }

    const textOf = async (msg: KeywordMessage): Promise<string> => {
      const value = await evaluateProperty(RED, node, property, propertyType, msg);
      if (value === undefined || value === null) return '';
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'bigint') return String(value);
      const kind = Array.isArray(value) ? m('kind.array') : Buffer.isBuffer(value) ? m('kind.buffer') : typeof value === 'object' ? m('kind.object') : m('kind.other', { type: typeof value });
      throw new Error(m('error.notText', { property: shownProperty, kind }));
    };

    const routed = (msg: KeywordMessage, match: ReplyMatch | null, text: string): KeywordMessage => {
      if (match?.keyword !== undefined) msg.keyword = match.keyword;
      else delete msg.keyword;
      msg.match = match ? { rule: match.rule, kind: match.kind, text: match.text, fuzzy: match.fuzzy } : { rule: null, kind: 'otherwise', text, fuzzy: false };
      return msg;
    };

    onInput(node, (input, send, done) => {
      const msg = input as KeywordMessage;
      if (!compiled) return done(new Error(m('error.notRouted', { problem })));
      const rules = compiled;
      textOf(msg).then((reply) => {
        const outputs: Array<KeywordMessage | null> = new Array(rules.rules.length + 1).fill(null);
        const matches = matchReply(rules, reply);
        if (matches.length === 0) {
          outputs[rules.rules.length] = routed(msg, null, normaliseReply(reply));
        } else {
          // Each output gets its own message: msg.keyword and msg.match differ from rule to rule.
          const chosen = allMatches ? matches : matches.slice(0, 1);
          chosen.forEach((match, i) => {
            outputs[match.rule - 1] = routed(i === 0 ? msg : RED.util.cloneMessage(msg), match, match.text);
          });
        }
        send(outputs);
        done();
      }, (err: Error) => done(err));
    });
  }

  RED.nodes.registerType('keyword-switch', KeywordSwitchNode as unknown as (this: Node, def: NodeDef) => void);
}
