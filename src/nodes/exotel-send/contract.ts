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
  /** this node sends the confirmation of an opt-out: one message within 10 minutes of it may pass */
  optOutConfirmation: boolean;
  attempts: number | string;
}

const defaults: NodeContract<SendProps>['defaults'] = {
  name: { value: '' },
  version: { value: 1 },
  account: { value: '', type: 'exotel-account', required: true },
  to: { value: 'phone' },
  toType: { value: 'msg' },
  text: { value: 'payload' },
  textType: { value: 'msg' },
  from: { value: '' },
  dltTemplateId: { value: '' },
  smsType: { value: '' },
  priority: { value: '' },
  statusCallback: { value: '' },
  optOutConfirmation: { value: false },
  attempts: { value: DEFAULT_ATTEMPTS },
};

export const contract: NodeContract<SendProps> = {
  type: 'exotel-send',
  version: 1,
  defaults,
  migrations: [fillMissing(defaults)],
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

export function validateAttempts(value: unknown): Verdict {
  return isWholeNumber(value, 1, MAX_ATTEMPTS) ? true : problem('errors.attempts');
}
