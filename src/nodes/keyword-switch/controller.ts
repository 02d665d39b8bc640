// keyword-switch's behaviour without Node-RED: routes a reply by keyword, one output per rule plus
// "otherwise" (always last, so that an unknown keyword still gets an answer). The matching itself
// lives in sms/keywords.
import { compileRules, matchReply, normaliseReply, type CompiledRules, type ReplyMatch, type RuleDef } from '../../sms/keywords';
import type { Evaluate, Translate } from '../shared/ports';

export interface KeywordSwitchConfig {
  property?: string;
  propertyType?: string;
  rules?: RuleDef[];
  matchMode?: string;
  typos?: boolean | string;
  checkall?: string | boolean;
}

export type KeywordMessage = {
  keyword?: string;
  match?: { rule: number | null; kind: string; text: string; fuzzy: boolean };
  [key: string]: unknown;
};

export interface KeywordSwitchDeps {
  config: KeywordSwitchConfig;
  evaluate: Evaluate;
  translate: Translate;
  /** a copy of a message for a second output (Node-RED's RED.util.cloneMessage) */
  clone(msg: KeywordMessage): KeywordMessage;
}

export class KeywordSwitchController {
  /** why the rules cannot be used; empty when they can */
  readonly problem: string = '';
  private readonly compiled: CompiledRules | null = null;
  private readonly property: string;
  private readonly propertyType: string;
  private readonly allMatches: boolean;

  constructor(private readonly deps: KeywordSwitchDeps) {
    const { config } = deps;
    this.property = config.property || 'payload';
    this.propertyType = config.propertyType || 'msg';
    this.allMatches = config.checkall === 'true' || config.checkall === true;
    try {
      this.compiled = compileRules(Array.isArray(config.rules) ? config.rules : [], { matchMode: config.matchMode, typos: config.typos === true || config.typos === 'true' });
    } catch (err) {
      this.problem = (err as Error).message;
    }
  }

  /** The outputs for a message: the matched rule's (or every matched rule's), else "otherwise". */
  async route(msg: KeywordMessage): Promise<Array<KeywordMessage | null>> {
    const m = this.deps.translate;
    if (!this.compiled) throw new Error(m('error.notRouted', { problem: this.problem }));
    const rules = this.compiled;
    const reply = await this.textOf(msg);
    const outputs: Array<KeywordMessage | null> = new Array(rules.rules.length + 1).fill(null);
    const matches = matchReply(rules, reply);
    if (matches.length === 0) {
      outputs[rules.rules.length] = this.routed(msg, null, normaliseReply(reply));
    } else {
      // Each output gets its own message: msg.keyword and msg.match differ from rule to rule.
      const chosen = this.allMatches ? matches : matches.slice(0, 1);
      chosen.forEach((match, i) => {
        outputs[match.rule - 1] = this.routed(i === 0 ? msg : this.deps.clone(msg), match, match.text);
      });
    }
    return outputs;
  }

  private shownProperty(): string {
    const m = this.deps.translate;
    const type = this.propertyType;
    if (type === 'msg' || type === 'flow' || type === 'global') return `${type}.${this.property}`;
    return type === 'env' ? m('property.env', { name: this.property }) : m('property.expression');
  }

  private async textOf(msg: KeywordMessage): Promise<string> {
    const m = this.deps.translate;
    const value = await this.deps.evaluate(this.property, this.propertyType, msg);
    if (value === undefined || value === null) return '';
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'bigint') return String(value);
    const kind = Array.isArray(value) ? m('kind.array') : Buffer.isBuffer(value) ? m('kind.buffer') : typeof value === 'object' ? m('kind.object') : m('kind.other', { type: typeof value });
    throw new Error(m('error.notText', { property: this.shownProperty(), kind }));
  }

  private routed(msg: KeywordMessage, match: ReplyMatch | null, text: string): KeywordMessage {
    if (match?.keyword !== undefined) msg.keyword = match.keyword;
    else delete msg.keyword;
    msg.match = match ? { rule: match.rule, kind: match.kind, text: match.text, fuzzy: match.fuzzy } : { rule: null, kind: 'otherwise', text, fuzzy: false };
    return msg;
  }
}
