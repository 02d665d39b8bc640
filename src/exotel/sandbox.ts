// The sandbox: an Exotel that never leaves the machine. What a sandbox account sends is kept for
// the editor's "SMS sandbox" phone instead of going to Exotel; everything before it (opt-out,
// number, DLT template, rate limit, retries) runs exactly as for a live account.
import { randomBytes } from 'node:crypto';
import type { SendRequest, SendResult, SmsGateway } from './client';
import { countSegments } from '../sms/encoding';

export interface SandboxOutbound {
  sid: string;
  /** the send's CustomField: its delivery report carries it */
  customField: string;
  to: string;
  from: string;
  body: string;
  segments: number;
  encoding: string;
}

/** An SmsSid-like id, recognisable as the sandbox's. */
export function sandboxSid(direction: 'out' | 'in'): string {
  return `sandbox-${direction}-${randomBytes(8).toString('hex')}`;
}

/**
 * Numbers whose sandbox SMS is not delivered, so that a flow's handling of a failed delivery can be
 * tried without an account: each gets the report Exotel sends for that failure.
 */
export const SANDBOX_UNDELIVERED: Readonly<Record<string, { status: string; detailedStatus: string; detailedStatusCode: string }>> = {
  '+919000000001': { status: 'failed_dnd', detailedStatus: 'FAILED_DND', detailedStatusCode: '23005' },
  '+919000000002': { status: 'failed', detailedStatus: 'FAILED_SUBSCRIBER_ERROR', detailedStatusCode: '24120' },
  '+919000000003': { status: 'failed', detailedStatus: 'DLT_TEMPLATE_DOES_NOT_MATCH', detailedStatusCode: '23185' },
};

/** The report Exotel would send for a sandbox SMS to `to`: delivered, but for the numbers above. */
export function sandboxDelivery(to: string): { status: string; detailedStatus: string; detailedStatusCode: string } {
  return SANDBOX_UNDELIVERED[to] ?? { status: 'sent', detailedStatus: 'DELIVERED_TO_HANDSET', detailedStatusCode: '20005' };
}

/** A send the flow tried and that did not go out (blocked before the queue, or failed): the phone shows it. */
export interface SandboxNotSent {
  to: string;
  body: string;
  /** msg.error.code */
  code: string;
  message: string;
  /** the send node, so that the user can find it */
  nodeId: string;
  nodeName: string;
}

export class SandboxGateway implements SmsGateway {
  constructor(
    private readonly deliver: (sms: SandboxOutbound) => Promise<void>,
    private readonly refuse: (attempt: SandboxNotSent) => Promise<void> = async () => undefined,
  ) {}

  /** Keeps a send that was not made in the customer's thread, with its cause. */
  notSent(attempt: SandboxNotSent): Promise<void> {
    return this.refuse(attempt);
  }

  async send(sms: SendRequest, onDispatch?: () => void | Promise<void>): Promise<SendResult> {
    await onDispatch?.();
    const { segments, encoding } = countSegments(sms.body);
    const sid = sandboxSid('out');
    await this.deliver({ sid, customField: sms.customField ?? '', to: sms.to, from: sms.from, body: sms.body, segments, encoding });
    return { sid, status: 'sent', detailedStatus: 'DELIVERED_TO_SANDBOX', detailedStatusCode: null, segments, encoding };
  }

  async close(): Promise<void> {}
}
