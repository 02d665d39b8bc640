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

/**
 * Starting points the editor offers (its preset list, in this order), then the user edits them.
 * The first keyword of each rule is the one msg.keyword carries.
 */
export const PRESETS = ['optInOut', 'yesNo', 'survey', 'confirm'] as const;
export type Preset = (typeof PRESETS)[number];
export const SURVEY_ANSWERS = { min: 2, max: 10, default: 5 } as const;

/** The rules of a preset (a survey with `answers` answers, 2 to 10); [] for an unknown preset. */
export function presetRules(preset: unknown, answers: unknown = SURVEY_ANSWERS.default): RuleDef[] {
  switch (preset) {
    case 'optInOut':
      return [
        { t: 'keywords', v: 'START, YES, UNSTOP, SUBSCRIBE, HAAN, HAN, हाँ' },
        { t: 'keywords', v: 'STOP, NO, UNSUBSCRIBE, CANCEL, END, QUIT, STOPALL, OPTOUT, REVOKE' },
        { t: 'keywords', v: 'HELP, INFO' },
      ];
    case 'yesNo':
      return [
        { t: 'keywords', v: 'YES, Y, HAAN, HAN, हाँ' },
        { t: 'keywords', v: 'NO, N, NAHI, NAHIN, नहीं' },
      ];
    case 'survey': {
      const count = Math.min(SURVEY_ANSWERS.max, Math.max(SURVEY_ANSWERS.min, Math.floor(Number(answers)) || SURVEY_ANSWERS.default));
      return Array.from({ length: count }, (_, i) => ({ t: 'range', v: String(i + 1) }));
    }
    case 'confirm':
      return [
        { t: 'keywords', v: 'C, CONFIRM' },
        { t: 'keywords', v: 'R, RESCHEDULE' },
      ];
  }
  return [];
}

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
