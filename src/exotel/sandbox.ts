// The sandbox: an Exotel that never leaves the machine. What a sandbox account sends is kept for
// the editor's "SMS sandbox" phone instead of going to Exotel; everything before it (opt-out,
// number, DLT template, rate limit, retries) runs exactly as for a live account.
import { randomBytes } from 'node:crypto';
import type { SendRequest, SendResult, SmsGateway } from './client';
import { countSegments } from '../sms/encoding';

export interface SandboxOutbound {
  sid: string;
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

export class SandboxGateway implements SmsGateway {
  constructor(private readonly deliver: (sms: SandboxOutbound) => Promise<void>) {}

  async send(sms: SendRequest, onDispatch?: () => void | Promise<void>): Promise<SendResult> {
    await onDispatch?.();
    const { segments, encoding } = countSegments(sms.body);
    const sid = sandboxSid('out');
    await this.deliver({ sid, to: sms.to, from: sms.from, body: sms.body, segments, encoding });
    return { sid, status: 'sent', detailedStatus: 'DELIVERED_TO_SANDBOX', detailedStatusCode: null, segments, encoding };
  }

  async close(): Promise<void> {}
}
