// Waiting helpers shared by every spec: a sleep, polling until a condition holds, a duration in words,
// and a free TCP port.
import net from 'node:net';

export const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until `predicate()` is true, polling every `pollMs`; fails after `timeoutMs` naming `what`.
 * The predicate is checked once more after the time is up, so a slow last poll still counts.
 */
export async function until(
  predicate: () => unknown | Promise<unknown>,
  timeoutMs = 3000,
  what = 'condition',
  pollMs = 10,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await wait(pollMs);
  }
}

/** A duration as "12.3 s". */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** A TCP port that is free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
