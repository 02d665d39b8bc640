// When to try a failed request again, and how long to wait: exponential backoff with full jitter,
// or what Exotel asked for in Retry-After.
import { SendError } from './errors';

export interface RetryPolicy {
  /** total attempts, the first included */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 1_000, maxDelayMs: 30_000 };

/** The wait before attempt `attempt + 1`, after `attempt` attempts failed with `err`. */
export function retryDelay(policy: RetryPolicy, attempt: number, err: SendError, random = Math.random): number {
  if (err.retryAfterMs !== undefined) return Math.min(err.retryAfterMs, 5 * 60_000);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` until it succeeds, fails with a non-retryable error, or the attempts are spent. */
export async function withRetry<T>(
  policy: RetryPolicy,
  attempt: (n: number) => Promise<T>,
  onRetry?: (err: SendError, waitMs: number, n: number) => void,
  wait: (ms: number) => Promise<void> = sleep,
): Promise<T> {
  let maybeSent = false;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (thrown) {
      const err = thrown instanceof SendError ? thrown : new SendError({ code: 'internal', message: String((thrown as Error)?.message ?? thrown), retryable: false });
      if (!err.retryable || n >= policy.attempts) {
        const earlier = maybeSent && !err.maybeSent;
        if ((n > 1 && err.retryable) || earlier) {
          const notes = [n > 1 ? `after ${n} attempts` : '', earlier ? 'an earlier attempt got no answer, so Exotel may have sent it' : ''].filter(Boolean).join('; ');
          throw new SendError({ code: err.code, message: `${err.message} (${notes})`, retryable: err.retryable, httpStatus: err.httpStatus, maybeSent: maybeSent || err.maybeSent });
        }
        throw err;
      }
      maybeSent ||= !!err.maybeSent;
      const waitMs = retryDelay(policy, n, err);
      onRetry?.(err, waitMs, n);
      await wait(waitMs);
    }
  }
}
