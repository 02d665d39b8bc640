// The package as a user gets it: `npm pack` (prepack builds), the tarball installed into an empty
// Node-RED user directory the way the palette manager installs it, and Node-RED started on that
// directory as a separate process, with a flow that holds one node of every type the package
// declares. Checked through the admin API and the webhook, on two runtimes:
//   - Node-RED ~4.1 (the dev dependency) on the Node running mocha (Node 20);
//   - Node-RED 5 on Node 22 (npm package node-<platform>-<arch>@22), both cached in .cache/.
// The tarball install runs every time (it is what is tested) and builds better-sqlite3 for each
// Node: one to three minutes, the two runtimes in parallel. The runtimes are cached on the versions
// asked for (cache-key.json): delete .cache/node22 or .cache/nr5 to take a newer Node 22 or Node-RED 5.
// (The tarball holds the build, dist/, not src/: that is the point of this spec.)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { freePort } from '../support/node-red-child';
import { NodeRedProcess } from '../support/node-red-process';
import { present } from '../support/present';
import type { FlowNode } from '../support/red';
import { seconds, until } from '../support/wait';
import os from 'node:os';
import path from 'node:path';
import { ambientNpmCli, createUserDir, installTarball, npmEnv, pack, run } from '../support/start-script';
import pkg from '../../package.json';

const root = path.join(__dirname, '..', '..');
const declaredTypes = Object.keys(pkg['node-red'].nodes);

const CACHE = path.join(root, '.cache');
const NODE22_PACKAGE = `node-${process.platform}-${process.arch}`;
const NODE22 = { dir: path.join(CACHE, 'node22'), spec: `${NODE22_PACKAGE}@22` };
const NODE_RED_5 = { dir: path.join(CACHE, 'nr5'), spec: 'node-red@5' };

const TOKEN = 'pkg-test-token-5b1e9c';
const WEBHOOK_PATH = '/exotel/sms';
const SMS_SID = 'SMpkgtest0001';

/** A Node and the Node-RED it runs, and where they came from. */
interface Runtime {
  node: string;
  nodedir: string | undefined;
  redJs: string;
  source: string;
}

/** A runtime with the packed package installed into a user directory. */
interface Installed extends Runtime {
  userDir: string;
  env: NodeJS.ProcessEnv;
}

interface Leg {
  title: string;
  prepareRuntime: () => Promise<Runtime>;
  timings: Record<string, string>;
  ready?: Promise<Installed>;
}

/**
 * Runs `install(dir)` into a fresh directory unless `dir` holds an install made with the same key
 * (the requested versions). The install is made beside and renamed into place with its key, so that
 * an interrupted run, or another run at the same time, never uses half an install. Resolves with
 * whether it installed.
 */
async function cachedInstall(dir: string, key: { spec: string; node?: string }, install: (dir: string) => Promise<unknown>) {
  const wanted = JSON.stringify(key);
  const installed = () => {
    try {
      return fs.readFileSync(path.join(dir, 'cache-key.json'), 'utf8') === wanted;
    } catch {
      return false;
    }
  };
  if (installed()) return false;
  const staging = `${dir}.${process.pid}.tmp`;
  const old = `${dir}.${process.pid}.old`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  try {
    fs.writeFileSync(path.join(staging, 'package.json'), JSON.stringify({ private: true }));
    await install(staging);
    fs.writeFileSync(path.join(staging, 'cache-key.json'), wanted);
    if (installed()) return false; // another run got there first
    if (fs.existsSync(dir)) fs.renameSync(dir, old);
    fs.renameSync(staging, dir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
    fs.rmSync(old, { recursive: true, force: true });
  }
  return true;
}

const NPM_INSTALL = ['install', '--no-audit', '--no-fund', '--no-update-notifier'];

/** Node-RED ~4.1, the dev dependency, on the Node running the tests. */
async function nodeRed4Runtime(): Promise<Runtime> {
  return { node: process.execPath, nodedir: undefined, redJs: require.resolve('node-red/red.js', { paths: [root] }), source: 'dev dependency' };
}

/** Node 22 from npm, and Node-RED 5 installed by that Node's npm, both cached in .cache/. */
async function nodeRed5Runtime(): Promise<Runtime> {
  const packageDir = path.join(NODE22.dir, 'node_modules', NODE22_PACKAGE);
  const node = path.join(packageDir, 'bin', 'node');
  const installedNode = await cachedInstall(NODE22.dir, { spec: NODE22.spec }, (dir) =>
    run(process.execPath, [ambientNpmCli(), ...NPM_INSTALL, NODE22.spec], { cwd: dir, env: npmEnv(process.execPath) }),
  );
  const nodeVersion = (await run(node, ['--version'])).trim();
  assert.match(nodeVersion, /^v22\./, `${node} is ${nodeVersion}`);
  // node-gyp builds for the Node whose headers it gets: this Node's, shipped in the package (the
  // user's npmrc may point nodedir at another Node's, and there may be no internet to download them).
  const nodedir = fs.existsSync(path.join(packageDir, 'include', 'node', 'node_version.h')) ? packageDir : undefined;
  const installedRed = await cachedInstall(NODE_RED_5.dir, { spec: NODE_RED_5.spec, node: nodeVersion }, (dir) =>
    run(node, [ambientNpmCli(), ...NPM_INSTALL, '--omit=dev', NODE_RED_5.spec], { cwd: dir, env: npmEnv(node, nodedir) }),
  );
  const redJs = path.join(NODE_RED_5.dir, 'node_modules', 'node-red', 'red.js');
  return { node, nodedir, redJs, source: installedNode || installedRed ? 'installed into .cache' : 'cached' };
}

function versionOf(name: string, fromDir: string): string {
  try {
    return (require(require.resolve(`${name}/package.json`, { paths: [fromDir] })) as { version: string }).version;
  } catch {
    return 'not found';
  }
}

/** One node of every declared type, configured; a type this table does not know gets a bare node. */
function testFlow(): FlowNode[] {
  const configured: Record<string, FlowNode[]> = {
    'exotel-account': [
      {
        id: 'acc', type: 'exotel-account', name: 'package test', accountSid: 'exampleshop1', apiBaseUrl: 'http://127.0.0.1:9',
        defaultFrom: 'EXSHOP', dltEntityId: '', defaultCountry: 'IN', mode: 'live', rateLimit: 200,
      },
    ],
    'exotel-inbound': [
      { id: 'in', type: 'exotel-inbound', z: 'tab', name: '', account: 'acc', path: WEBHOOK_PATH, allowList: '', wires: [['received']] },
      { id: 'received', type: 'debug', z: 'tab', name: 'received', active: true, tosidebar: false, console: true, complete: 'true', wires: [] },
    ],
    'keyword-switch': [
      {
        id: 'keywords', type: 'keyword-switch', z: 'tab', name: '', property: 'payload', propertyType: 'msg',
        rules: [{ t: 'keywords', v: 'YES' }, { t: 'keywords', v: 'STOP' }], matchMode: 'whole', typos: false, checkall: 'false', outputs: 3, wires: [[], [], []],
      },
    ],
    'conversation-state': [
      { id: 'conversation', type: 'conversation-state', z: 'tab', name: '', conversation: 'survey', action: 'route', key: 'phone', keyType: 'msg', steps: ['q1', 'q2'], outputs: 4, wires: [[], [], [], []] },
    ],
    'opt-out-store': [
      { id: 'optout', type: 'opt-out-store', z: 'tab', name: '', action: 'check', phone: 'phone', phoneType: 'msg', defaultCountry: 'IN', wires: [[]] },
    ],
    'exotel-send': [
      {
        id: 'send', type: 'exotel-send', z: 'tab', name: '', account: 'acc', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg',
        from: '', dltTemplateId: '', smsType: 'transactional', priority: 'normal', statusCallback: '', attempts: 3, wires: [[], []],
      },
    ],
  };
  const flow: FlowNode[] = [{ id: 'tab', type: 'tab', label: 'package test' }];
  for (const type of declaredTypes) flow.push(...(configured[type] ?? [{ id: type, type, z: 'tab', name: '', account: 'acc', wires: [] }]));
  // Node-RED takes a node without x and y for a config node, even on a tab
  flow.filter((n) => n.z).forEach((n, i) => Object.assign(n, { x: 200, y: 60 + 60 * i }));
  return flow;
}

const legs: Leg[] = [
  { title: 'Node-RED ~4.1 on Node 20 (dev dependency)', prepareRuntime: nodeRed4Runtime, timings: {} },
  { title: 'Node-RED 5 on Node 22', prepareRuntime: nodeRed5Runtime, timings: {} },
];

describe('the packed package in a Node-RED user directory, installed as the palette manager does', function () {
  let work: string;
  let packMs: number|undefined;

  before(async function () {
    this.timeout(5 * 60_000);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-red-exotel-package-'));
    const started = Date.now();
    const packed = pack(path.join(work, 'pack')).then((tarball) => {
      packMs = Date.now() - started;
      return tarball;
    });
    // Both runtimes are prepared and both installs (each builds better-sqlite3) run at the same time;
    // each leg waits for its own in its `before`.
    for (const leg of legs) {
      leg.timings = {};
      leg.ready = (async () => {
        const t = Date.now();
        const runtime = await leg.prepareRuntime();
        leg.timings.runtime = `${seconds(Date.now() - t)} (${runtime.source})`;
        const tarball = await packed;
        const userDir = createUserDir(path.join(work, leg.prepareRuntime.name));
        const t2 = Date.now();
        await installTarball({ userDir, tarball, node: runtime.node, redJs: runtime.redJs, nodedir: runtime.nodedir });
        leg.timings.install = seconds(Date.now() - t2);
        return { ...runtime, userDir, env: npmEnv(runtime.node, runtime.nodedir) };
      })();
      leg.ready.catch(() => {}); // reported by the leg's own before hook
    }
    await packed;
  });

  after(function () {
    this.timeout(2 * 60_000); // two user directories with a better-sqlite3 build each
    if (packMs !== undefined) console.log(`      npm pack (with the build): ${seconds(packMs)}`);
    for (const leg of legs) if (leg.timings) console.log(`      ${leg.title}: ${Object.entries(leg.timings).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  for (const leg of legs) {
    describe(leg.title, function () {
      this.timeout(60_000);
      let runtime: Installed;
      let red: NodeRedProcess;
      let base: string;
      let shownLog = false;

      before(async function () {
        this.timeout(25 * 60_000);
        runtime = await present(leg.ready, 'the install started in the first before hook');
        const t = Date.now();
        const port = await freePort();
        base = `http://127.0.0.1:${port}`;
        const settings = {
          uiHost: '127.0.0.1',
          uiPort: port,
          flowFile: 'flows.json',
          credentialSecret: false, // flows_cred.json in plain JSON
          telemetry: { enabled: false },
          logging: { console: { level: 'info', metrics: false, audit: false } },
        };
        fs.writeFileSync(path.join(runtime.userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
        fs.writeFileSync(path.join(runtime.userDir, 'flows.json'), JSON.stringify(testFlow(), null, 2));
        fs.writeFileSync(path.join(runtime.userDir, 'flows_cred.json'), JSON.stringify({ acc: { apiKey: 'key-123', apiToken: 'tok-456', webhookToken: TOKEN } }));
        red = new NodeRedProcess({ ...runtime, userDir: runtime.userDir });
        await red.ready(60_000);
        leg.timings.start = seconds(Date.now() - t);
        const redDir = path.dirname(runtime.redJs);
        leg.timings.versions = `Node-RED ${versionOf('node-red', runtime.redJs)} (Express ${versionOf('express', redDir)}), Node ${/Node\.js\s+version: (\S+)/.exec(red.log)?.[1]}`;
      });

      afterEach(function () {
        if (this.currentTest?.state === 'failed' && red && !shownLog) {
          shownLog = true;
          console.log(`      --- Node-RED log (${leg.title}) ---\n${red.log.replace(/^/gm, '      | ')}`);
        }
      });

      after(async function () {
        if (red) await red.stop();
      });

      it('builds better-sqlite3 for the Node that runs Node-RED', async function () {
        const pkgDir = path.join(runtime.userDir, 'node_modules', ...pkg.name.split('/'));
        const probe = "const D = require(require.resolve('better-sqlite3', { paths: [process.argv[1]] })); new D(':memory:').close(); console.log('ok')";
        assert.equal((await run(runtime.node, ['-e', probe, pkgDir])).trim(), 'ok');
      });

      it('registers every node type the package declares, enabled and without error', async function () {
        const res = await fetch(`${base}/nodes`, { headers: { Accept: 'application/json' } });
        assert.equal(res.status, 200);
        const sets = await res.json();
        for (const type of declaredTypes) {
          const set = sets.find((s: { types: string[] }) => s.types.includes(type));
          assert.ok(set, `${type} is not registered`);
          assert.equal(set.err, undefined, `${type}: ${set.err}`);
          assert.equal(set.module, pkg.name, `${type} comes from ${set.module}`);
          assert.equal(set.version, pkg.version);
          assert.equal(set.enabled, true, `${type} is disabled`);
          assert.equal(set.local, true, `${type} is not loaded from <userDir>/node_modules`);
        }
        // the module is the one npm installed into the user directory, and is listed in its package.json
        const info = await (await fetch(`${base}/nodes/${encodeURIComponent(pkg.name)}`, { headers: { Accept: 'application/json' } })).json();
        assert.equal(info.user, true, 'the module is not a user-installed module');
        assert.equal(fs.realpathSync(info.path), fs.realpathSync(path.join(runtime.userDir, 'node_modules', ...pkg.name.split('/'))));
      });

      it('acknowledges an inbound SMS with an empty 200 and hands it to the flow', async function () {
        const res = await fetch(`${base}${WEBHOOK_PATH}?token=${TOKEN}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: `SmsSid=${SMS_SID}&From=09876543210&Body=YES`,
        });
        const body = await res.text();
        assert.equal(res.status, 200, `answered ${res.status} ${body}`);
        assert.equal(body, '');
        // the debug node prints the message on the console
        await until(() => red.log.includes(`sid: '${SMS_SID}'`), 5000, 'the debug node to print the message', 50);
        assert.match(red.log, /phone: '\+919876543210'/);
        assert.ok(fs.existsSync(path.join(runtime.userDir, 'exotel-sms.db')), 'the store file is not in the user directory');
      });

      it('removes the webhook route when the flows are redeployed without it', async function () {
        const url = `${base}${WEBHOOK_PATH}?token=${TOKEN}`;
        assert.equal((await fetch(url, { method: 'HEAD' })).status, 200, 'the route is not there before the redeploy');
        const deploy = await fetch(`${base}/flows`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
          body: '[]',
        });
        assert.ok(deploy.status === 204 || deploy.status === 200, `POST /flows answered ${deploy.status} ${await deploy.text()}`);
        for (const method of ['HEAD', 'GET', 'POST']) {
          const res = await fetch(url, { method, ...(method === 'POST' ? { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `SmsSid=SMpkgtest0002&From=09876543210&Body=NO` } : {}) });
          assert.equal(res.status, 404, `${method} ${WEBHOOK_PATH} answered ${res.status} after the redeploy`);
        }
      });

      it('stops on SIGINT and logged no error', async function () {
        const { code, signal } = await red.stop();
        assert.equal(signal, null, `killed by ${signal}`);
        assert.equal(code, 0);
        // [error] lines, errors printed outside the log (stack traces), and warnings from our nodes
        assert.deepEqual(red.problemsSince(0), []);
      });
    });
  }
});
