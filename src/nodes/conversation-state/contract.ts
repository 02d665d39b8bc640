// conversation-state: the node's properties, limits and checks, for the editor and the runtime.
import { fillMissing, isCountryCode, isPositiveNumber, problem, text, type NodeContract, type SavedNode, type Verdict } from '../contract';

export const ACTIONS = ['start', 'route', 'update', 'end', 'verify'] as const;
export type ConversationAction = (typeof ACTIONS)[number];
export const KEY_TYPES = ['msg', 'flow', 'global', 'str', 'env'] as const;
export const DATA_TYPES = ['none', 'msg', 'json', 'flow', 'global'] as const;

/** Which action uses which field; the runtime ignores the others. */
export const USES: Record<'step' | 'steps' | 'timeout' | 'maxAge' | 'data' | 'saveAs' | 'code', readonly ConversationAction[]> = {
  step: ['start', 'update'],
  steps: ['route'],
  timeout: ['start', 'update'],
  maxAge: ['start'],
  data: ['start', 'update', 'end'],
  saveAs: ['update', 'end'],
  code: ['start'],
};

export const DEFAULT_MAX_AGE_HOURS = 24;
export const DEFAULT_CODE = { length: 6, lifetimeMinutes: 10, attempts: 3 };
export const CODE_LENGTH = { min: 4, max: 10 };

export interface ConversationProps extends SavedNode {
  conversation: string;
  action: ConversationAction;
  key: string;
  keyType: string;
  /** the country of a customer number written without its country code (9876543210) */
  defaultCountry: string;
  /** start: the first step; update: the step to move to (empty: stay) */
  step: string;
  /** route: the steps, one output each */
  steps: string[];
  /** start / update: "no reply within" minutes for the step entered (empty: no timeout) */
  timeout: string | number;
  /** start: hours until the conversation expires */
  maxAge: string | number;
  /** start / update / end: an object from msg, merged into the data */
  data: string;
  dataType: string;
  /** update / end: keep the reply in the data under this name */
  saveAs: string;
  /** start: create a one-time code */
  code: boolean;
  codeLength: string | number;
  codeLifetime: string | number;
  codeAttempts: string | number;
  outputs: number;
}

const defaults: NodeContract<ConversationProps>['defaults'] = {
  name: { value: '' },
  version: { value: 2 },
  conversation: { value: '' },
  action: { value: 'start' },
  key: { value: 'phone' },
  keyType: { value: 'msg' },
  defaultCountry: { value: 'IN' },
  step: { value: '' },
  steps: { value: [] },
  timeout: { value: '' },
  maxAge: { value: DEFAULT_MAX_AGE_HOURS },
  data: { value: '' },
  dataType: { value: 'none' },
  saveAs: { value: '' },
  code: { value: false },
  codeLength: { value: DEFAULT_CODE.length },
  codeLifetime: { value: DEFAULT_CODE.lifetimeMinutes },
  codeAttempts: { value: DEFAULT_CODE.attempts },
  outputs: { value: 1 },
};

export const contract: NodeContract<ConversationProps> = {
  type: 'conversation-state',
  version: 2,
  defaults,
  migrations: [
    // Before versions, a node saved without an action routed replies.
    fillMissing(defaults, { action: 'route' }),
    // Version 2: the country of bare numbers is a setting; before, it was India.
    (config) => ({ ...config, defaultCountry: config.defaultCountry === undefined ? 'IN' : config.defaultCountry }),
  ],
};

/** Outputs of a node: one per step plus "other" and "none" for route; three for verify. */
export function outputsFor(action: unknown, stepCount: number): number {
  if (action === 'route') return stepCount + 2;
  return action === 'verify' ? 3 : 1;
}

export function uses(field: keyof typeof USES, action: unknown): boolean {
  return (USES[field] as readonly unknown[]).includes(action);
}

const NAME = /^[A-Za-z0-9_-]+$/;
const SAVE_AS = /^[\p{L}\p{N}_-]+$/u;

export function validateConversation(value: unknown): Verdict {
  const given = text(value);
  if (!given) return problem('errors.conversationEmpty');
  return NAME.test(given) ? true : problem('errors.conversationChars');
}

export function validateDefaultCountry(value: unknown): Verdict {
  // absent on a node saved before version 2: valid, its migration makes it IN
  if (value === undefined || value === null) return true;
  return isCountryCode(value) ? true : problem('errors.defaultCountry');
}

export function validateAction(value: unknown): Verdict {
  return (ACTIONS as readonly unknown[]).includes(value) ? true : problem('errors.action');
}

export function validateFirstStep(value: unknown, action: unknown): Verdict {
  return action !== 'start' || text(value) ? true : problem('errors.firstStep');
}

export function validateSteps(steps: unknown): Verdict {
  if (!Array.isArray(steps) || steps.length === 0) return problem('errors.stepsNone');
  const seen = new Set<string>();
  for (let i = 0; i < steps.length; i++) {
    const step = text(steps[i]);
    if (!step) return problem('errors.stepEmpty', { n: i + 1 });
    if (seen.has(step)) return problem('errors.stepTwice', { step });
    seen.add(step);
  }
  return true;
}

export function validateTimeout(value: unknown): Verdict {
  return text(value) === '' || isPositiveNumber(value, false) ? true : problem('errors.timeout');
}

export function validateMaxAge(value: unknown): Verdict {
  return isPositiveNumber(value, false) ? true : problem('errors.maxAge');
}

/** The data to merge, for types other than msg/flow/global (which the editor checks with Node-RED's own validator). */
export function validateData(value: unknown, dataType: unknown): Verdict | 'typed' {
  if (dataType === 'none') return true;
  if (!(DATA_TYPES as readonly unknown[]).includes(dataType)) return problem('errors.dataType');
  if (!text(value)) return problem('errors.dataEmpty');
  if (dataType !== 'json') return 'typed';
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(value));
  } catch {
    return problem('errors.dataJson');
  }
  return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? true : problem('errors.dataObject');
}

export function validateSaveAs(value: unknown): Verdict {
  return text(value) === '' || SAVE_AS.test(text(value)) ? true : problem('errors.saveAs');
}

export function validateCodeLength(value: unknown): Verdict {
  return isPositiveNumber(value, true, CODE_LENGTH.min, CODE_LENGTH.max) ? true : problem('errors.codeLength');
}

export function validateCodeLifetime(value: unknown): Verdict {
  return isPositiveNumber(value, false) ? true : problem('errors.codeLifetime');
}

export function validateCodeAttempts(value: unknown): Verdict {
  return isPositiveNumber(value, true, 1) ? true : problem('errors.codeAttempts');
}
