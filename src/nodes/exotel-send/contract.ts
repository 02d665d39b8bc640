// exotel-send: the node's properties, enumerations, limits and checks, for the editor and the runtime.
import { typedTextCouldMatch, type DltTemplate } from '../../sms/dlt';
import { PROMOTIONAL_HOURS } from '../../sms/trai-hours';
import { fillMissing, isHttpUrl, isPhoneLiteral, isWholeNumber, problem, text, type NodeContract, type SavedNode, type Verdict } from '../contract';

/** Exotel's SmsType values; blank leaves it to Exotel. */
export const SMS_TYPES = ['transactional', 'transactional_opt_in', 'promotional'] as const;
/** Exotel's Priority values; blank leaves it to Exotel. */
export const PRIORITIES = ['normal', 'high'] as const;
/** What a promotional or service-explicit send does outside TRAI's hours (10:00–21:00 IST): wait in the outbox until 10:00, or fail. */
export const OUTSIDE_HOURS = ['hold', 'fail'] as const;
export type OutsideHours = (typeof OUTSIDE_HOURS)[number];
export { PROMOTIONAL_HOURS };
export const TYPED_INPUT_TYPES = ['msg', 'flow', 'global', 'str', 'env'] as const;
/** Tries of one send, the first included. */
export const DEFAULT_ATTEMPTS = 4;
export const MAX_ATTEMPTS = 10;

export interface SendProps extends SavedNode {
  account: string;
  to: string;
  toType: string;
  text: string;
  textType: string;
  from: string;
  dltTemplateId: string;
  smsType: string;
  priority: string;
  statusCallback: string;
  /**
   * this node always sends the confirmation of an opt-out: one message within 10 minutes of it may
   * pass. Without the tick, a message that carries the fresh opt-out (msg.optOut) may still pass.
   */
  optOutConfirmation: boolean;
  /** an answer to HELP from a number that opted out still reaches it (the number that asked, once per HELP) */
  helpReachesOptedOut: boolean;
  attempts: number | string;
  /** a promotional or service-explicit send outside TRAI's hours: held until 10:00 IST, or failed */
  outsideHours: OutsideHours;
}

const defaults: NodeContract<SendProps>['defaults'] = {
  name: { value: '' },
  version: { value: 3 },
  account: { value: '', type: 'exotel-account', required: true },
  to: { value: 'phone' },
  toType: { value: 'msg' },
  text: { value: '' },
  textType: { value: 'str' },
  from: { value: '' },
  dltTemplateId: { value: '' },
  smsType: { value: '' },
  priority: { value: '' },
  statusCallback: { value: '' },
  optOutConfirmation: { value: false },
  helpReachesOptedOut: { value: true },
  attempts: { value: DEFAULT_ATTEMPTS },
  outsideHours: { value: 'hold' },
};

/** What the text of a node saved before version 2 was: msg.payload. */
const SAVED_TEXT = { text: 'payload', textType: 'msg' };

export const contract: NodeContract<SendProps> = {
  type: 'exotel-send',
  version: 3,
  defaults,
  migrations: [
    // Version 1 keeps what the unversioned runtime did: the text from msg.payload, HELP answers blocked like any other.
    fillMissing(defaults, { ...SAVED_TEXT, helpReachesOptedOut: false }),
    // Version 2: a new node's text is typed in (str) and HELP answers reach opted-out numbers; a saved
    // node keeps its text's type (a node saved without one read msg.payload) and its HELP behaviour.
    (config) => ({
      ...config,
      text: config.textType === undefined && config.text === undefined ? SAVED_TEXT.text : config.text,
      textType: config.textType === undefined ? SAVED_TEXT.textType : config.textType,
      helpReachesOptedOut: config.helpReachesOptedOut === undefined ? false : config.helpReachesOptedOut,
    }),
    // Version 3: TRAI's hours. A saved node holds a promotional send outside them, as a new one does:
    // operators refuse it at night anyway (and Exotel bills it).
    (config) => ({ ...config, outsideHours: config.outsideHours === 'fail' ? 'fail' : 'hold' }),
  ],
};

/** A number typed in by hand (type `str`): catch a name or a typo before deploy. */
export function validateToNumber(value: unknown, type: unknown): Verdict {
  return type !== 'str' || isPhoneLiteral(value) ? true : problem('errors.toNumber');
}

export function validateSmsType(value: unknown): Verdict {
  return !value || (SMS_TYPES as readonly unknown[]).includes(value) ? true : problem('errors.smsType');
}

export function validatePriority(value: unknown): Verdict {
  return !value || (PRIORITIES as readonly unknown[]).includes(value) ? true : problem('errors.priority');
}

export function validateStatusCallback(value: unknown): Verdict {
  return text(value) === '' || isHttpUrl(value) ? true : problem('errors.statusCallback');
}

/** The text: typed in (anything but blank), or where it comes from (left to Node-RED's validator). */
export function validateText(value: unknown, type: unknown): Verdict | 'typed' {
  if (text(value) === '') return problem(type === 'str' ? 'errors.textTyped' : 'errors.textEmpty');
  return type === 'str' ? true : 'typed';
}

export function validateAttempts(value: unknown): Verdict {
  return isWholeNumber(value, 1, MAX_ATTEMPTS) ? true : problem('errors.attempts');
}

export function validateOutsideHours(value: unknown): Verdict {
  // absent on a node saved before version 3: valid, its migration makes it `hold`
  return value === undefined || value === null || (OUTSIDE_HOURS as readonly unknown[]).includes(value) ? true : problem('errors.outsideHours');
}

/** The account's template of this id, if it lists one. */
export function templateOf(templates: readonly DltTemplate[] | undefined, id: unknown): DltTemplate | undefined {
  const wanted = text(id);
  return wanted ? (templates ?? []).find((template) => template.id === wanted) : undefined;
}

/**
 * The editor's check of a typed text against the template the node names (the runtime checks the
 * rendered text): a text whose {{placeholders}} can fill the template's variables passes; one
 * that cannot match says where. A text from a property, or a template the account does not list, is not checked here.
 */
export function validateTextAgainstTemplate(value: unknown, type: unknown, template: DltTemplate | undefined): Verdict {
  if (!template || type !== 'str' || text(value) === '') return true;
  const difference = typedTextCouldMatch(template.text, String(value));
  if (!difference) return true;
  const { position, expected, found, variableLength, variableLimit } = difference;
  const id = template.id;
  if (variableLength !== undefined) return problem('errors.textTemplateVariable', { id, position, length: variableLength, limit: variableLimit ?? 0 });
  if (expected === '') return problem('errors.textTemplateEnd', { id, position, found: cut(found) });
  if (found === '') return problem('errors.textTemplateShort', { id, position, expected: cut(expected) });
  return problem('errors.textTemplate', { id, position, expected: cut(expected), found: cut(found) });
}

function cut(part: string): string {
  const chars = Array.from(part);
  return chars.length > 20 ? chars.slice(0, 20).join('') + '…' : part;
}
