// Node-RED as a child process whose output is kept in memory, for the specs that start one real
// Node-RED (browser, package install). The drills, which kill and restart one, use node-red-child.js.
'use strict';
const { spawn } = require('node:child_process');
const pkg = require('../../package.json');

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Node-RED running `redJs` under `node` on `userDir`; `log` is everything it printed. */
class NodeRedProcess {
  constructor({ node = process.execPath, redJs, env = process.env, userDir }) {
    this.log = '';
    this.child = spawn(node, [redJs, '-u', userDir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        children.delete(this.child);
        resolve({ code, signal });
      });
    });
    this.child.stdout.on('data', (chunk) => (this.log += chunk));
    this.child.stderr.on('data', (chunk) => (this.log += chunk));
  }

  get running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until the server runs and the flows have started. */
  async ready(timeoutMs) {
    const end = Date.now() + timeoutMs;
    while (!(/Server now running at/.test(this.log) && /Started flows/.test(this.log))) {
      if (!this.running) throw new Error(`Node-RED exited (${this.child.exitCode ?? this.child.signalCode}) before it was ready:\n${this.log}`);
      if (Date.now() > end) throw new Error(`Node-RED was not ready after ${timeoutMs} ms:\n${this.log}`);
      await wait(50);
    }
  }

  /** Lines since `mark` (a length of `log`) that report a problem: errors, and warnings from our nodes. */
  problemsSince(mark = 0) {
    const ours = Object.keys(pkg['node-red'].nodes).map((type) => `[warn] [${type}`);
    return this.log.slice(mark).split('\n')
      .filter((line) => line.includes('[error]') || /^\s*([A-Z]\w*Error\b|Uncaught|Unhandled)/.test(line) || ours.some((w) => line.includes(w)));
  }

  /** SIGINT, as Ctrl-C; SIGKILL if it has not stopped after `timeoutMs`. */
  async stop(timeoutMs = 20_000) {
    if (!this.running) return this.exited;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

module.exports = { NodeRedProcess };
