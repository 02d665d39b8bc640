// A real Node-RED in a child process, with this package loadable from its user directory as a user
// would have it (a symbolic link in <userDir>/node_modules/@smsflow/node-red-exotel and the dependency
// in the user directory's package.json: where `npm install` would put it). Shared by the drills (start,
// kill -9, start again on the same user directory and store) and the benchmarks (CPU time, profiles,
// extra node flags and settings code).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, wait } from './wait';

export const ROOT = path.join(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const PKG = require(path.join(ROOT, 'package.json')) as { name: string; version: string; 'node-red': { nodes: Record<string, string> } };
export const RED_JS = require.resolve('node-red/red.js', { paths: [ROOT] });
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const NODE_RED_VERSION = (require(path.join(path.dirname(RED_JS), 'package.json')) as { version: string }).version;

export { freePort };

/** Clock ticks a second, for /proc/<pid>/stat. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, all threads) a process has used, in ms; null where /proc is not there. */
export function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone already
    }
  }
});

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LaunchOptions {
  flows: object[];
  credentials?: Record<string, object>;
  /** merged over {storePath: <userDir>/exotel-sms.db} */
  exotelSms?: Record<string, unknown>;
  /** merged over the defaults (editor at /admin, flows on /, 127.0.0.1, no telemetry) */
  settings?: Record<string, unknown>;
  /** JavaScript run on `settings` before settings.js exports it (what JSON cannot say: functions) */
  settingsCode?: string;
  logLevel?: string;
  /** part of the user directory's name and of a CPU profile's */
  label?: string;
  /** flags for node before red.js, such as --expose-gc */
  nodeArgs?: string[];
  /** a directory: run with --cpu-prof and write the profile there */
  cpuProfDir?: string | null;
}

export class NodeRedChild {
  /** Writes a user directory: package link, settings.js, flows.json and flows_cred.json (plain). */
  static async create(options: LaunchOptions): Promise<NodeRedChild> {
    const { flows, credentials = {}, exotelSms = {}, settings = {}, settingsCode = '', logLevel = 'info', label = 'drill' } = options;
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
    fs.writeFileSync(settingsFile, `const settings = ${JSON.stringify(allSettings, null, 2)};\n${settingsCode}\nmodule.exports = settings;\n`);
    fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows, null, 2));
    fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(credentials, null, 2));
    const loadedFrom = fs.realpathSync(path.join(linkPath, PKG['node-red'].nodes['exotel-inbound']));
    const storeFile = (allSettings.exotelSms as { storePath: string }).storePath;
    return new NodeRedChild({ userDir, port, storePath: storeFile, settingsFile, loadedFrom, label, nodeArgs: options.nodeArgs ?? [], cpuProfDir: options.cpuProfDir ?? null });
  }

  readonly userDir: string;
  readonly port: number;
  readonly baseUrl: string;
  readonly adminUrl: string;
  readonly storePath: string;
  readonly settingsFile: string;
  readonly logFile: string;
  /** where Node-RED finds exotel-inbound through the link (this repository's dist/) */
  readonly loadedFrom: string;
  child: ChildProcess | null = null;
  exited: Promise<ExitStatus> | null = null;
  /** performance.now() at the last spawn */
  spawnedAt = 0;
  starts = 0;
  private readonly label: string;
  private readonly nodeArgs: string[];
  private readonly cpuProfDir: string | null;

  constructor(o: { userDir: string; port: number; storePath: string; settingsFile: string; loadedFrom: string; label: string; nodeArgs: string[]; cpuProfDir: string | null }) {
    this.userDir = o.userDir;
    this.port = o.port;
    this.baseUrl = `http://127.0.0.1:${o.port}`;
    this.adminUrl = `${this.baseUrl}/admin`;
    this.storePath = o.storePath;
    this.settingsFile = o.settingsFile;
    this.logFile = path.join(o.userDir, 'node-red.log');
    this.loadedFrom = o.loadedFrom;
    this.label = o.label;
    this.nodeArgs = o.nodeArgs;
    this.cpuProfDir = o.cpuProfDir;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** CPU time the running process has used, in ms (null where /proc is not there). */
  cpuMs(): number | null {
    return this.running ? processCpuMs(this.pid) : null;
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

  /** Spawns Node-RED and returns at once (see start() to wait until it is ready). */
  spawn(): this {
    if (this.running) throw new Error('Node-RED is running already');
    const args = [...this.nodeArgs];
    if (this.cpuProfDir) {
      fs.mkdirSync(this.cpuProfDir, { recursive: true });
      args.push('--cpu-prof', `--cpu-prof-dir=${this.cpuProfDir}`, `--cpu-prof-name=${this.label}-${Date.now()}.cpuprofile`);
    }
    const fd = fs.openSync(this.logFile, 'a');
    this.spawnedAt = performance.now();
    const child = spawn(process.execPath, [...args, RED_JS, '--userDir', this.userDir, '--settings', this.settingsFile], {
      cwd: this.userDir,
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    this.child = child;
    this.starts++;
    children.add(child);
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        children.delete(child);
        resolve({ code, signal });
      }),
    );
    return this;
  }

  /** Starts Node-RED and waits until its server runs and its flows have started. */
  async start({ timeoutMs = 60_000 } = {}): Promise<this> {
    const offset = this.log().length;
    this.spawn();
    const child = this.child as ChildProcess;
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
  async kill9(): Promise<ExitStatus | null> {
    if (!this.running) return this.exited;
    process.kill(this.pid as number, 'SIGKILL');
    return this.exited;
  }

  /** SIGINT, as Ctrl-C (flows stop, the store closes); SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<ExitStatus | null> {
    if (!this.running) return this.exited;
    const child = this.child as ChildProcess;
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
