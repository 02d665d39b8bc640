// Node-RED for the benchmarks: the test support's launcher (a child process, the package installed in
// its user directory), with no editor so that nothing but the flows under test answers on its port.
import { NodeRedChild, NODE_RED_VERSION, type LaunchOptions } from '../../test/support/node-red-launcher';
import { wait } from './measure';
import type { Log } from './report';

export { NodeRedChild, NODE_RED_VERSION };

/** Writes a user directory and spawns Node-RED; `waitReady` false returns at once (to time the start). */
export async function startNodeRed(options: LaunchOptions & { waitReady?: boolean }, log?: Log): Promise<NodeRedChild> {
  const red = await NodeRedChild.create({ label: 'bench', ...options, settings: { httpAdminRoot: false, ...options.settings } });
  if (options.waitReady === false) red.spawn();
  else await red.start();
  log?.(`  Node-RED ${NODE_RED_VERSION} pid ${red.pid} on ${red.baseUrl}, user dir ${red.userDir}`);
  return red;
}

/** Waits until every endpoint answers the request `probe(url)` makes with a 2xx. */
export async function waitForEndpoints(red: NodeRedChild, urls: string[], probe: (url: string) => Promise<Response>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  const pending = new Set(urls);
  let lastProblem = '';
  while (pending.size > 0) {
    if (!red.running) throw new Error(`Node-RED exited during start-up:\n${red.logTail()}`);
    if (Date.now() > end) throw new Error(`Node-RED did not answer on ${[...pending].join(', ')} within ${timeoutMs / 1000} s (${lastProblem}):\n${red.logTail()}`);
    for (const url of [...pending]) {
      try {
        const res = await probe(url);
        await res.arrayBuffer();
        if (res.status >= 200 && res.status < 300) pending.delete(url);
        else lastProblem = `${url} answered ${res.status}`;
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        lastProblem = `${url}: ${e.cause?.code ?? e.message}`;
      }
    }
    if (pending.size > 0) await wait(200);
  }
}

/**
 * Waits until a Node-RED process has gone quiet: its CPU time grows by less than `busyMs` over each
 * `windowMs`, `quietWindows` times in a row (deferred work such as checkpoints done). The CPU time then.
 */
export async function untilIdle(red: NodeRedChild, { windowMs = 500, busyMs = 10, quietWindows = 2, timeoutMs = 60_000 } = {}): Promise<number | null> {
  const end = Date.now() + timeoutMs;
  let last = red.cpuMs();
  if (last === null) return null;
  let quiet = 0;
  while (quiet < quietWindows && Date.now() < end) {
    await wait(windowMs);
    const now = red.cpuMs();
    if (now === null) return null;
    quiet = now - last < busyMs ? quiet + 1 : 0;
    last = now;
  }
  return last;
}
