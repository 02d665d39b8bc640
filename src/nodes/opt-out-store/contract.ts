// opt-out-store: the node's properties and checks, for the editor and the runtime.
import { fillMissing, isCountryCode, isPhoneLiteral, problem, text, type NodeContract, type SavedNode, type Verdict } from '../contract';

export const ACTIONS = ['optout', 'optin', 'check', 'get', 'import', 'export'] as const;
export type OptOutAction = (typeof ACTIONS)[number];
/** Actions that work on a list, not on one number. */
export const WITHOUT_PHONE: readonly OptOutAction[] = ['import', 'export'];
export const IMPORT_AS = ['opted-out', 'opted-in'] as const;
export const TYPED_INPUT_TYPES = ['msg', 'flow', 'global', 'str', 'env'] as const;

export interface OptOutProps extends SavedNode {
  action: OptOutAction;
  phone: string;
  phoneType: string;
  defaultCountry: string;
  importAs: (typeof IMPORT_AS)[number];
  outputs: number;
}

const defaults: NodeContract<OptOutProps>['defaults'] = {
  name: { value: '' },
  version: { value: 1 },
  action: { value: 'optout' },
  phone: { value: 'phone' },
  phoneType: { value: 'msg' },
  defaultCountry: { value: 'IN' },
  importAs: { value: 'opted-out' },
  outputs: { value: 1 },
};

export const contract: NodeContract<OptOutProps> = {
  type: 'opt-out-store',
  version: 1,
  defaults,
  // Before versions, a node saved without an action only checked.
  migrations: [fillMissing(defaults, { action: 'check' })],
};

/** check has three outputs (opted in, opted out, unknown); the other actions one. */
export function outputsFor(action: unknown): number {
  return action === 'check' ? 3 : 1;
}

export function validateAction(value: unknown): Verdict {
  return (ACTIONS as readonly unknown[]).includes(value) ? true : problem('errors.action');
}

/** The number's property; for a number typed in by hand (type `str`), that it looks like one. 'typed' leaves the rest to Node-RED's validator. */
export function validatePhone(value: unknown, type: unknown, action: unknown): Verdict | 'typed' {
  if ((WITHOUT_PHONE as readonly unknown[]).includes(action)) return true;
  if (text(value) === '') return problem('errors.phoneEmpty');
  if (type === 'str' && !isPhoneLiteral(value)) return problem('errors.phoneNumber');
  return 'typed';
}

export function validateDefaultCountry(value: unknown, action: unknown): Verdict {
  return action === 'export' || isCountryCode(value) ? true : problem('errors.defaultCountry');
}

export function validateImportAs(value: unknown, action: unknown): Verdict {
  return action !== 'import' || (IMPORT_AS as readonly unknown[]).includes(value) ? true : problem('errors.importAs');
}
