// exotel-send: the node's properties, enumerations, limits and checks, for the editor and the runtime.
import { fillMissing, isHttpUrl, isPhoneLiteral, isWholeNumber, problem, text, type NodeContract, type SavedNode, type Verdict } from '../contract';

/** Exotel's SmsType values; blank leaves it to Exotel. */
export const SMS_TYPES = ['transactional', 'transactional_opt_in', 'promotional'] as const;
/** Exotel's Priority values; blank leaves it to Exotel. */
export const PRIORITIES = ['normal', 'high'] as const;
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
}

const defaults: NodeContract<SendProps>['defaults'] = {
  name: { value: '' },
  version: { value: 2 },
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
};

/** What the text of a node saved before version 2 was: msg.payload. */
const SAVED_TEXT = { text: 'payload', textType: 'msg' };

export const contract: NodeContract<SendProps> = {
  type: 'exotel-send',
  version: 2,
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
