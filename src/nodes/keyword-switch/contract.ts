// keyword-switch: the node's properties and checks, for the editor and the runtime. The rules are
// checked by the same code that compiles them (sms/keywords.ts).
import { RULE_KINDS, ruleProblems, type RuleDef } from '../../sms/keywords';
import { fillMissing, problem, type NodeContract, type Problem, type SavedConfig, type SavedNode, type Verdict } from '../contract';

export { RULE_KINDS };
export const MATCH_MODES = ['whole', 'first-word'] as const;
/** "false": the first matching rule only; "true": every matching rule. */
export const CHECKALL = ['false', 'true'] as const;
/** Rule kinds that carry a value (keywords, numbers, a regular expression). */
export const KINDS_WITH_VALUE = ['keywords', 'range', 'regex'] as const;

export interface KeywordSwitchProps extends SavedNode {
  property: string;
  propertyType: string;
  rules: RuleDef[];
  matchMode: string;
  typos: boolean;
  checkall: string;
  outputs: number;
}

const defaults: NodeContract<KeywordSwitchProps>['defaults'] = {
  name: { value: '' },
  version: { value: 1 },
  property: { value: 'payload', required: true },
  propertyType: { value: 'msg' },
  rules: { value: [{ t: 'keywords', v: '' }] },
  matchMode: { value: 'whole' },
  typos: { value: false },
  checkall: { value: 'false' },
  outputs: { value: 2 },
};

/** Version 1: missing properties filled; `checkall` and `typos` of hand-written flows as the editor saves them. */
function toVersion1(config: SavedConfig): SavedConfig {
  const filled = fillMissing(defaults)(config);
  filled.checkall = filled.checkall === true || filled.checkall === 'true' ? 'true' : filled.checkall === false ? 'false' : filled.checkall;
  filled.typos = filled.typos === true || filled.typos === 'true';
  return filled;
}

export const contract: NodeContract<KeywordSwitchProps> = {
  type: 'keyword-switch',
  version: 1,
  defaults,
  migrations: [toVersion1],
};

/** Every problem of the rules (`errors.<key>` with the rule number as `n`); true when there is none. */
export function validateRules(rules: unknown): true | Problem[] {
  const problems = ruleProblems(rules).map((err) => problem(`errors.${err.key}`, { n: err.rule, ...err.params }));
  return problems.length === 0 ? true : problems;
}

// Missing (a flow written by hand, not yet migrated) means the default.
export function validateMatchMode(value: unknown): Verdict {
  return value === undefined || value === '' || (MATCH_MODES as readonly unknown[]).includes(value) ? true : problem('errors.matchMode');
}

export function validateCheckall(value: unknown): Verdict {
  return value === undefined || value === '' || (CHECKALL as readonly unknown[]).includes(value) ? true : problem('errors.checkall');
}
