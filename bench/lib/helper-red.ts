// The nodes in this process through node-red-node-test-helper (the test support's red module), for the
// benchmarks that time one node without HTTP in front: send-overhead and rate-limit.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface HelperNode {
  receive(msg: object): void;
  on(event: 'input', fn: (msg: { error?: { code?: string } } & Record<string, unknown>) => void): void;
}

interface RedSupport {
  helper: { getNode(id: string): HelperNode; unload(): Promise<void>; _sandbox?: { restore?: () => void } };
  load(flow: object[], credentials?: Record<string, object>): Promise<unknown>;
  settings(values: object): void;
}

/**
 * Loads `flow` with the package's nodes (a store in a fresh directory), with the helper's sinon spies
 * removed: they record every call of every Node method, a cost no real Node-RED has.
 */
export async function loadInProcess(flow: object[], credentials: Record<string, object>, label: string) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const red = require('../../test/support/red') as RedSupport;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `exotel-bench-${label}-`));
  red.settings({ exotelSms: { storePath: path.join(dir, 'exotel-sms.db') } });
  await red.load(flow, credentials);
  red.helper._sandbox?.restore?.();
  return {
    getNode: (id: string) => red.helper.getNode(id),
    async unload() {
      await red.helper.unload().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
