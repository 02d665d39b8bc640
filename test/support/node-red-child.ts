// A real Node-RED in a child process, with this package loadable from its user directory as
// bench/run.js does it (a symbolic link in <userDir>/node_modules/@smsflow/node-red-exotel and the
// dependency in the user directory's package.json: where `npm install` would put it), started,
// killed with SIGKILL and started again on the same user directory and store file.
// It runs the build (dist/, as package.json "node-red".nodes declares it): run `npm run build` first.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import PKG from '../../package.json';
import type { Exit } from './node-red-process';
import { freePort, wait } from './wait';

const ROOT = path.join(__dirname, '..', '..');
const RED_JS = require.resolve('node-red/red.js', { paths: [ROOT] });

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {}
  }
});

export interface NodeRedChildOptions {
  flows: unknown[];
  credentials?: Record<string, unknown>;
  exotelSms?: Record<string, unknown>;
  settings?: Record<string, unknown>;
  logLevel?: string;
  label?: string;
}

export class NodeRedChild {
  readonly userDir: string;
  readonly port: number;
  readonly baseUrl: string;
  readonly adminUrl: string;
  readonly storePath: string;
  readonly settingsFile: string;
  readonly logFile: string;
  child: ChildProcess | null = null;
  exited: Promise<Exit> | null = null;
  starts = 0;

  /**
   * Writes a user directory: package link, settings.js, flows.json and flows_cred.json (plain:
   * `credentialSecret: false`). `exotelSms` is merged over {storePath: <userDir>/exotel-sms.db}.
   */
  static async create({ flows, credentials = {}, exotelSms = {}, settings = {}, logLevel = 'info', label = 'drill' }: NodeRedChildOptions): Promise<NodeRedChild> {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), `exotel-${label}-`));
    const port = await freePort();
    fs.writeFileSync(
      path.join(userDir, 'package.json'),
      JSON.stringify({ name: `exotel-${label}-userdir`, private: true, dependencies: { [PKG.name]: `file:${ROOT}` } }, null, 2),
    );
    const linkPath = path.join(userDir, 'node_modules', ...PKG.name.split('/'));
    fs.mkdirSync(path.dirname(linkPath), { recursive: true });
    fs.symlinkSync(ROOT, linkPath, 'dir');
    const storePath = path.join(userDir, 'exotel-sms.db');
    const allSettings = {
      uiHost: '127.0.0.1',
      uiPort: port,
      httpAdminRoot: '/admin',
      httpNodeRoot: '/',
      flowFile: 'flows.json',
      credentialSecret: false,
      diagnostics: { enabled: false, ui: false },
      telemetry: { enabled: false, updateNotification: false },
      logging: { console: { level: logLevel, metrics: false, audit: false } },
      exotelSms: { storePath, ...exotelSms },
      ...settings,
    };
    const settingsFile = path.join(userDir, 'settings.js');
    fs.writeFileSync(settingsFile, `module.exports = ${JSON.stringify(allSettings, null, 2)};\n`);
    fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows, null, 2));
    fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(credentials, null, 2));
    return new NodeRedChild({ userDir, port, storePath, settingsFile });
  }

  constructor({ userDir, port, storePath, settingsFile }: { userDir: string; port: number; storePath: string; settingsFile: string }) {
    this.userDir = userDir;
    this.port = port;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.adminUrl = `${this.baseUrl}/admin`;
    this.storePath = storePath;
    this.settingsFile = settingsFile;
    this.logFile = path.join(userDir, 'node-red.log');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Everything every run printed, or the part since `offset`. */
  log(offset = 0): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').slice(offset);
    } catch {
      return '';
    }
  }

  logTail(lines = 60): string {
    return this.log().split('\n').slice(-lines).join('\n');
  }

  /** Starts Node-RED and waits until its server runs and its flows have started. */
  async start({ timeoutMs = 60_000 }: { timeoutMs?: number } = {}): Promise<this> {
    if (this.running) throw new Error('Node-RED is running already');
    const offset = this.log().length;
    const fd = fs.openSync(this.logFile, 'a');
    const child = spawn(process.execPath, [RED_JS, '--userDir', this.userDir, '--settings', this.settingsFile], {
      cwd: this.userDir,
      stdio: ['ignore', fd, fd],
    });
    this.child = child;
    fs.closeSync(fd);
    this.starts++;
    children.add(child);
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        children.delete(child);
        resolve({ code, signal });
      }),
    );
    const end = Date.now() + timeoutMs;
    for (;;) {
      const text = this.log(offset);
      if (/Server now running at/.test(text) && /Started flows/.test(text)) break;
      if (!this.running) throw new Error(`Node-RED exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${this.logTail()}`);
      if (Date.now() > end) throw new Error(`Node-RED was not ready within ${timeoutMs} ms:\n${this.logTail()}`);
      await wait(50);
    }
    return this;
  }

  /** kill -9: no handler runs, nothing is flushed. Resolves when the process is gone. */
  async kill9(): Promise<Exit | null> {
    if (!this.running || !this.child?.pid) return this.exited;
    process.kill(this.child.pid, 'SIGKILL');
    return this.exited;
  }

  /** SIGINT, as Ctrl-C (flows stop, the store closes); SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<Exit | null> {
    const child = this.child;
    if (!this.running || !child) return this.exited;
    child.kill('SIGINT');
    const timer = setTimeout(() => this.running && child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }

  /** GET on the admin API (no adminAuth: the child listens on 127.0.0.1 only). */
  async admin(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
    const res = await fetch(`${this.adminUrl}${pathname}`, { headers: { accept: 'application/json', ...headers } });
    return { status: res.status, text: await res.text() };
  }

  remove(): void {
    fs.rmSync(this.userDir, { recursive: true, force: true });
  }
}

export { RED_JS, freePort };
