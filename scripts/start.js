#!/usr/bin/env node
// `npm start`: runs this package in a real Node-RED, installed the way a user installs it.
// Packs the package (npm pack runs prepack, the build), installs the tarball into the git-ignored
// user directory .node-red/ exactly as the editor's palette manager does, and starts Node-RED (the
// dev dependency) on that user directory. Ctrl-C stops it.
//
// The helpers are exported for test/package/install.spec.js, which installs the same way.
'use strict';
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const pkg = require('../package.json');
const USER_DIR = path.join(root, '.node-red');
/** where .node-red/ keeps the tarball it installed, and what it was (see `install`) */
const PACK_DIR = 'pack';
const STAMP_FILE = '.installed-tarball.json';

/** The arguments of `npm install` in Node-RED's palette manager (@node-red/registry/lib/installer.js). */
const PALETTE_INSTALL_ARGS = ['install', '--no-audit', '--no-update-notifier', '--no-fund', '--save', '--save-prefix=~', '--omit=dev', '--engine-strict'];

/** The package.json Node-RED writes into a new user directory (@node-red/runtime storage/localfilesystem). */
const USER_DIR_PACKAGE = { name: 'node-red-project', description: 'A Node-RED Project', version: '0.0.1', private: true };

/**
 * Runs a command. stdio 'inherit' shows its output; 'pipe' keeps it, and a failure's error carries
 * its end. Resolves with the output ('' when inherited).
 */
function run(command, args, { cwd, env = process.env, stdio = 'pipe' } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    let output = '';
    if (stdio !== 'inherit') {
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(output);
      const shown = [command, ...args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
      const tail = output.length > 6000 ? '…' + output.slice(-6000) : output;
      reject(new Error(`${shown} (in ${cwd ?? process.cwd()}) failed with ${signal ?? `exit code ${code}`}${tail ? `:\n${tail}` : ''}`));
    });
  });
}

/**
 * The npm that runs this script (npm start, npm test, npx), not the npm that Node-RED bundles
 * (node_modules/.bin/npm is on PATH under npm run, and is Node-RED's npm 10).
 */
function ambientNpmCli() {
  const execpath = process.env.npm_execpath;
  if (execpath && path.basename(execpath) === 'npm-cli.js' && fs.existsSync(execpath)) return execpath;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir || dir.includes(`node_modules${path.sep}.bin`)) continue;
    const candidate = path.join(dir, 'npm');
    if (!fs.existsSync(candidate)) continue;
    const real = fs.realpathSync(candidate);
    if (path.basename(real) === 'npm-cli.js') return real;
    const beside = path.join(path.dirname(real), 'npm-cli.js');
    if (fs.existsSync(beside)) return beside;
  }
  const global = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  if (fs.existsSync(global)) return global;
  throw new Error('npm not found: run this through npm, or put npm on PATH');
}

/** The npm that Node-RED's palette manager runs: the one @node-red/registry resolves. */
function paletteNpmCli(redJs) {
  const registry = path.dirname(require.resolve('@node-red/registry/package.json', { paths: [path.dirname(redJs)] }));
  return path.join(path.dirname(require.resolve('npm/package.json', { paths: [registry] })), 'bin', 'npm-cli.js');
}

/** Variables npm sets for the script it runs, which describe that npm run, not the one we start. */
const NPM_RUN_VARIABLES = /^(npm_lifecycle_|npm_package_|npm_command$|npm_execpath$|npm_node_execpath$|npm_config_(local_prefix|global_prefix|prefix|globalconfig|node_gyp|user_agent|npm_version|call)$|NODE$)/;

/**
 * The environment for an npm (or Node-RED) run by `node`: what npm run added is removed, `node`'s
 * directory is first on PATH (install scripts such as prebuild-install and node-gyp run `node` from
 * PATH and build for that Node), and `nodedir`, when given, points node-gyp at that Node's headers.
 */
function npmEnv(node, nodedir) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!NPM_RUN_VARIABLES.test(key)) env[key] = value;
  env.PATH = [path.dirname(node), env.PATH].filter(Boolean).join(path.delimiter);
  if (nodedir) env.npm_config_nodedir = nodedir;
  return env;
}

/** `npm pack` (which runs prepack, the build) into `destDir`; resolves with the tarball's path. */
async function pack(destDir) {
  fs.rmSync(destDir, { recursive: true, force: true });
  fs.mkdirSync(destDir, { recursive: true });
  await run(process.execPath, [ambientNpmCli(), 'pack', '--pack-destination', destDir], { cwd: root, env: npmEnv(process.execPath) });
  const tarballs = fs.readdirSync(destDir).filter((f) => f.endsWith('.tgz'));
  if (tarballs.length !== 1) throw new Error(`npm pack left ${tarballs.length} tarballs in ${destDir}`);
  return path.join(destDir, tarballs[0]);
}

/** A Node-RED user directory, with the package.json Node-RED would write. */
function createUserDir(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'package.json');
  if (!fs.existsSync(file)) fs.writeFileSync(file, JSON.stringify(USER_DIR_PACKAGE, null, 4));
  return dir;
}

/**
 * Installs a tarball into a user directory as the palette manager does: the Node that runs Node-RED
 * runs Node-RED's own npm, in the user directory, with the palette manager's arguments.
 */
function installTarball({ userDir, tarball, node = process.execPath, redJs, nodedir, stdio = 'pipe' }) {
  const args = [paletteNpmCli(redJs), ...PALETTE_INSTALL_ARGS, '--', path.resolve(tarball)];
  return run(node, args, { cwd: userDir, env: npmEnv(node, nodedir), stdio });
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

const SETTINGS = `// Node-RED settings for \`npm start\` (scripts/start.js writes this file when it is missing; edit it freely).
module.exports = {
  flowFile: 'flows.json',
  uiHost: '127.0.0.1',
  uiPort: Number(process.env.PORT) || 1880,
  // The demo opens on the opt-in example, not on Node-RED's update-notification question and welcome tour.
  telemetry: { enabled: false, updateNotification: false },
  editorTheme: { tours: false },
};
`;

/** What earlier releases wrote: replaced by SETTINGS, since nobody edited it. */
const PREVIOUS_SETTINGS = [
  `// Node-RED settings for \`npm start\` (scripts/start.js writes this file when it is missing; edit it freely).
module.exports = {
  flowFile: 'flows.json',
  uiHost: '127.0.0.1',
  uiPort: Number(process.env.PORT) || 1880,
};
`,
];

function writeSettingsIfMissing(userDir) {
  const file = path.join(userDir, 'settings.js');
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
  if (existing === null || PREVIOUS_SETTINGS.includes(existing)) fs.writeFileSync(file, SETTINGS);
}

/**
 * A new user directory starts with every example flow (examples/*.json), each on its own tab, all in
 * sandbox mode: a newcomer deploys nothing and clicks an inject node. A flows.json that already holds
 * flows is the user's own and is left alone. Returns the number of tabs written (0 when left alone).
 */
function loadExampleFlows(userDir, examplesDir = path.join(root, 'examples')) {
  const file = path.join(userDir, 'flows.json');
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, 'utf8').trim();
    let existing = null;
    try {
      existing = text ? JSON.parse(text) : [];
    } catch {
      existing = null;
    }
    if (!Array.isArray(existing) || existing.length > 0) return 0;
  }
  const flows = [];
  const files = fs.readdirSync(examplesDir).filter((f) => f.endsWith('.json')).sort();
  for (const name of files) flows.push(...JSON.parse(fs.readFileSync(path.join(examplesDir, name), 'utf8')));
  fs.writeFileSync(file, JSON.stringify(flows, null, 2));
  return files.length;
}

const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

async function main() {
  const redJs = require.resolve('node-red/red.js', { paths: [root] });
  const userDir = createUserDir(USER_DIR);

  let t = Date.now();
  console.log('Building and packing (npm pack runs the build)…');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'node-red-exotel-pack-'));
  try {
    const packed = await pack(scratch);
    console.log(`Packed ${path.basename(packed)} in ${seconds(t)}`);

    // The same tarball, for the same Node (native addons), in place: nothing to install.
    const stamp = { sha256: sha256(packed), node: process.version, modules: process.versions.modules };
    const stampFile = path.join(userDir, STAMP_FILE);
    const installed = path.join(userDir, 'node_modules', ...pkg.name.split('/'), 'package.json');
    let previous = null;
    try {
      previous = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
    } catch {}
    if (previous && JSON.stringify(previous) === JSON.stringify(stamp) && fs.existsSync(installed)) {
      console.log('The package in .node-red/ is this build already: not reinstalled');
    } else {
      t = Date.now();
      console.log('Installing it into .node-red/ as the palette manager does (the first time builds better-sqlite3: a minute or two)…');
      const packDir = path.join(userDir, PACK_DIR);
      fs.rmSync(packDir, { recursive: true, force: true });
      fs.mkdirSync(packDir, { recursive: true });
      const tarball = path.join(packDir, path.basename(packed));
      fs.copyFileSync(packed, tarball);
      fs.rmSync(stampFile, { force: true });
      await installTarball({ userDir, tarball, redJs, stdio: 'inherit' });
      fs.writeFileSync(stampFile, JSON.stringify(stamp, null, 2));
      console.log(`Installed in ${seconds(t)}`);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }

  writeSettingsIfMissing(userDir);
  const tabs = loadExampleFlows(userDir);
  if (tabs > 0) console.log(`Loaded the ${tabs} example flows, each on its own tab, in sandbox mode: open the "SMS sandbox" tab in the sidebar.`);

  const child = spawn(process.execPath, [redJs, '-u', userDir], { stdio: ['inherit', 'pipe', 'inherit'] });
  let pending = '';
  let announced = false;
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    if (announced) return;
    pending += chunk;
    const match = /Server now running at (\S+)/.exec(pending);
    if (match) {
      announced = true;
      pending = '';
      console.log(`\nNode-RED with ${pkg.name}: ${match[1]}\n(Ctrl-C stops it)\n`);
    }
  });
  // Ctrl-C reaches Node-RED directly (same process group); a signal sent to this process only is passed on.
  const stop = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stop(signal));
  // `kill <pid of npm start>` ends npm and its `sh -c` without passing the signal on to this process:
  // when the parent is gone, stop Node-RED rather than leave it holding the port.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop('SIGTERM');
  }, 1000).unref();
  child.on('error', (err) => {
    console.error(err);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

module.exports = {
  PALETTE_INSTALL_ARGS,
  USER_DIR_PACKAGE,
  ambientNpmCli,
  createUserDir,
  installTarball,
  loadExampleFlows,
  npmEnv,
  pack,
  paletteNpmCli,
  run,
  writeSettingsIfMissing,
};

if (require.main === module) {
  main().catch((err) => {
    console.error(err.message ?? err);
    process.exit(1);
  });
}
