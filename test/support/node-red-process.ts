// Node-RED as a child process whose output is kept in memory, for the specs that start one real
// Node-RED (browser, package install). The drills, which kill and restart one, use node-red-child.js.
import { spawn, type ChildProcess } from 'node:child_process';
import { wait } from './wait';
import pkg from '../../package.json';

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Node-RED running `redJs` under `node` on `userDir`; `log` is everything it printed. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class NodeRedProcess {
  log = '';
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  readonly userDir: string;

  constructor({ node = process.execPath, redJs, env = process.env, userDir }: { node?: string; redJs: string; env?: NodeJS.ProcessEnv; userDir: string }) {
    this.userDir = userDir;
    const child = spawn(node, [redJs, '-u', userDir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    children.add(child);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        children.delete(child);
        resolve({ code, signal });
      });
    });
    child.stdout.on('data', (chunk: Buffer) => (this.log += chunk));
    child.stderr.on('data', (chunk: Buffer) => (this.log += chunk));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until the server runs and the flows have started. */
  async ready(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(/Server now running at/.test(this.log) && /Started flows/.test(this.log))) {
      if (!this.running) throw new Error(`Node-RED exited (${this.child.exitCode ?? this.child.signalCode}) before it was ready:\n${this.log}`);
      if (Date.now() > end) throw new Error(`Node-RED was not ready after ${timeoutMs} ms:\n${this.log}`);
      await wait(50);
    }
  }

  /** Lines since `mark` (a length of `log`) that report a problem: errors, and warnings from our nodes. */
  problemsSince(mark = 0): string[] {
    const ours = Object.keys(pkg['node-red'].nodes).map((type) => `[warn] [${type}`);
    return this.log.slice(mark).split('\n')
      .filter((line) => line.includes('[error]') || /^\s*([A-Z]\w*Error\b|Uncaught|Unhandled)/.test(line) || ours.some((w) => line.includes(w)));
  }

  /** SIGINT, as Ctrl-C; SIGKILL if it has not stopped after `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<Exit> {
    if (!this.running) return this.exited;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

