// exotel-inbound: the webhook node's properties and checks, for the editor and the runtime.
import { allowListEntries } from '../../exotel/allow-list';
import { fillMissing, problem, text, type NodeContract, type SavedNode, type Verdict } from '../contract';

export interface InboundProps extends SavedNode {
  account: string;
  path: string;
  allowList: string;
}

const defaults: NodeContract<InboundProps>['defaults'] = {
  name: { value: '' },
  version: { value: 1 },
  account: { value: '', type: 'exotel-account', required: true },
  path: { value: '/exotel/sms', required: true },
  allowList: { value: '' },
};

export const contract: NodeContract<InboundProps> = {
  type: 'exotel-inbound',
  version: 1,
  defaults,
  migrations: [fillMissing(defaults)],
};

// Only plain characters: ":" "*" "(" "?" would turn the path into an Express pattern.
const PLAIN_PATH = /^\/[A-Za-z0-9._~\-/]*$/;

/**
 * The route path: trimmed, trailing "/" removed. '' when it cannot be a route: no leading "/"
 * (none is added), characters other than plain ones, "//" inside, or the root alone.
 */
export function normalisePath(value: unknown): string {
  const trimmed = text(value).replace(/\/+$/, '');
  if (trimmed === '' || !PLAIN_PATH.test(trimmed) || trimmed.includes('//')) return '';
  return trimmed;
}

/** Why a path cannot be a route, in the order a user fixes it. */
export function validatePath(value: unknown): Verdict {
  const given = text(value);
  if (given.charAt(0) !== '/') return problem('errors.pathSlash');
  if (!PLAIN_PATH.test(given) || given.replace(/\/+$/, '').includes('//')) return problem('errors.pathChars');
  // "/" alone would answer every request at the root, the editor's too when they share it.
  if (normalisePath(given) === '') return problem('errors.pathRoot');
  return true;
}

export function validateAllowList(value: unknown): Verdict {
  const { bad } = allowListEntries(text(value));
  return bad === null ? true : problem('errors.allowList', { entry: bad });
}
