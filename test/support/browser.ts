// The editor as a user meets it, for the browser specs: a real Node-RED (node_modules/node-red) started
// as a child process on a temporary user directory into which this package is installed as a module
// (a copy of what npm would unpack, listed in the user directory's package.json), and Debian's
// chromium driven by playwright-core. Plus the gestures a user makes: drag from the palette,
// double-click, wire, deploy, open a sidebar tab, type in the SMS sandbox phone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { freePort, NodeRedChild, type LaunchOptions } from './node-red-launcher';
import { NodeRedProcess } from './node-red-process';

/* eslint-disable @typescript-eslint/no-require-imports */
const { createUserDir } = require('../../scripts/start') as { createUserDir(dir: string): string };

export const ROOT = path.join(__dirname, '..', '..');
const pkg = require(path.join(ROOT, 'package.json')) as { name: string; version: string; files: string[]; 'node-red': { nodes: Record<string, string>; plugins?: Record<string, string> } };
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
export const VIEWPORT = { width: 1400, height: 900 };

export const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The package as an installed module in `<userDir>/node_modules`: package.json and its "files" copied
 * from this checkout (a copy, because a build in progress deletes dist/), its dependencies through a
 * link to this checkout's node_modules. Waits for a build in progress to finish.
 */
export async function installPackage(userDir: string): Promise<void> {
  const moduleDir = path.join(userDir, 'node_modules', ...pkg.name.split('/'));
  const needed = ['dist/nodes/icons', 'dist/nodes/locales/en-US', 'resources/contracts.js', 'resources/editor.js', 'resources/exotel-sms-tab.js'];
  for (const file of Object.values(pkg['node-red'].plugins ?? {})) needed.push(file, file.replace(/\.js$/, '.html'));
  for (const type of Object.keys(pkg['node-red'].nodes)) {
    needed.push(`dist/nodes/${type}.js`, `dist/nodes/${type}.html`, `dist/nodes/locales/en-US/${type}.json`, `dist/nodes/locales/en-US/${type}.html`);
  }
  const end = Date.now() + 60_000;
  for (;;) {
    const missing = needed.filter((file) => !fs.existsSync(path.join(ROOT, file)));
    if (!missing.length) {
      try {
        fs.rmSync(moduleDir, { recursive: true, force: true });
        fs.mkdirSync(moduleDir, { recursive: true });
        for (const entry of ['package.json', ...pkg.files.filter((file) => fs.existsSync(path.join(ROOT, file)))]) fs.cpSync(path.join(ROOT, entry), path.join(moduleDir, entry), { recursive: true });
        if (needed.every((file) => fs.existsSync(path.join(moduleDir, file)))) break;
      } catch (err) {
        if (Date.now() > end) throw err; // dist/ vanished while it was copied: a build started
      }
    } else if (Date.now() > end) {
      throw new Error(`the build is missing ${missing.join(', ')}: run npm run build (npm test builds first)`);
    }
    await wait(500);
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(moduleDir, 'node_modules'), 'dir');
  const userPackage = JSON.parse(fs.readFileSync(path.join(userDir, 'package.json'), 'utf8')) as Record<string, unknown>;
  userPackage.dependencies = { [pkg.name]: `~${pkg.version}` };
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify(userPackage, null, 4));
}

export interface BrowserEditor {
  red: NodeRedProcess;
  base: string;
  page: Page;
  context: BrowserContext;
  pageErrors: string[];
  consoleErrors: string[];
  close(): Promise<void>;
}

/** What a spec may change: chromium's language (navigator.language, Accept-Language) and settings.js entries. */
export interface BrowserEditorOptions {
  locale?: string;
  settings?: Record<string, unknown>;
}

/** Node-RED with the package, on an empty flow file, and chromium on its editor (loaded). */
export async function startBrowserEditor(options: BrowserEditorOptions = {}): Promise<BrowserEditor> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-red-exotel-browser-'));
  const userDir = createUserDir(path.join(work, 'user'));
  let red: NodeRedProcess | null = null;
  let context: BrowserContext | null = null;
  const close = async () => {
    if (context) await context.close().catch(() => undefined);
    if (red) await red.stop();
    fs.rmSync(work, { recursive: true, force: true });
  };
  try {
    await installPackage(userDir);
    const port = await freePort();
    const settings = {
      uiHost: '127.0.0.1',
      uiPort: port,
      flowFile: 'flows.json',
      credentialSecret: false,
      telemetry: { enabled: false },
      editorTheme: { tours: false }, // no welcome tour over the canvas
      logging: { console: { level: 'info', metrics: false, audit: false } },
      exotelSms: { storePath: path.join(userDir, 'exotel-sms.db') },
      ...options.settings,
    };
    fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
    fs.writeFileSync(path.join(userDir, 'flows.json'), '[]');
    red = new NodeRedProcess({ redJs: require.resolve('node-red/red.js', { paths: [ROOT] }), userDir });
    const { chromium } = require('playwright-core') as typeof import('playwright-core');
    // chromium starts while Node-RED does
    const started = chromium.launchPersistentContext(path.join(work, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      viewport: VIEWPORT,
      deviceScaleFactor: 1,
      locale: options.locale ?? 'en-US',
      timezoneId: 'Asia/Kolkata',
    });
    started.catch(() => undefined);
    await red.ready(60_000);
    context = await started;
    context.setDefaultTimeout(15_000);
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    const consoleErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.stack || String(err)));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    const editor = { red, base: `http://127.0.0.1:${port}`, page, context, pageErrors, consoleErrors, close };
    await new Editor(editor).open();
    return editor;
  } catch (err) {
    if (red) (err as Error).message += `\n--- Node-RED log ---\n${red.log}`;
    await close();
    throw err;
  }
}

/** After a failed test: a screenshot of the moment in test/artifacts/, the Node-RED log and the browser's errors printed. */
export async function reportFailure(browser: BrowserEditor | undefined, test: { state?: string; title: string } | undefined, prefix: string): Promise<void> {
  if (test?.state !== 'failed' || !browser) return;
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${prefix}-${test.title.replace(/[^a-z0-9]+/gi, '-').toLowerCase().slice(0, 60)}.png`);
  await browser.page.screenshot({ path: file }).catch(() => undefined);
  console.log(`      screenshot: ${path.relative(ROOT, file)}\n      --- Node-RED log ---\n${browser.red.log.replace(/^/gm, '      | ')}`);
  if (browser.pageErrors.length || browser.consoleErrors.length) console.log(`      --- browser errors ---\n${[...browser.pageErrors, ...browser.consoleErrors].join('\n')}`);
}

/** The gestures of a user in the editor. */
export class Editor {
  readonly page: Page;
  constructor(private readonly editor: BrowserEditor) {
    this.page = editor.page;
  }

  async open(): Promise<void> {
    await this.page.goto(this.editor.base, { waitUntil: 'domcontentloaded' });
    await this.page.waitForFunction(() => {
      const w = window as unknown as { RED?: { nodes?: { getType(t: string): unknown }; workspaces: { count(): number } }; $: (s: string) => { is(s: string): boolean; length: number } };
      return !!w.RED?.nodes?.getType('exotel-send') && w.RED.workspaces.count() > 0 && !w.$('#red-ui-loading-progress').is(':visible') &&
        w.$('.red-ui-palette-node[data-palette-type="exotel-send"]').length > 0;
    }, null, { timeout: 30_000 });
  }

  /** Empties the runtime's flows through the admin API, and loads the editor afresh. */
  async resetFlows(): Promise<void> {
    const res = await fetch(`${this.editor.base}/flows`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: '[]' });
    assert.ok(res.ok, `POST /flows answered ${res.status}`);
    await this.open();
  }

  async dismissNotifications(): Promise<void> {
    await this.page.evaluate(() => {
      const $ = (window as unknown as { $: (s: string) => { each(fn: (this: HTMLElement & { close?: () => void }) => void): void } }).$;
      $('.red-ui-notification').each(function () {
        if (this.close) this.close();
        else this.remove();
      });
    });
    await this.page.waitForSelector('.red-ui-notification', { state: 'hidden', timeout: 5000 }).catch(() => undefined);
  }

  /** Clicks Deploy and waits until the editor says it deployed; fails on a dialog, an error or a problem in the log. */
  async deploy(): Promise<void> {
    const mark = this.editor.red.log.length;
    await this.dismissNotifications();
    await this.page.click('#red-ui-header-button-deploy');
    const never = new Promise<string>(() => undefined);
    const outcome = await Promise.race([
      this.page.waitForSelector('.red-ui-notification-success', { state: 'visible', timeout: 20_000 }).then(() => 'deployed'),
      this.page.waitForSelector('.ui-dialog:visible .red-ui-deploy-dialog-confirm-list', { state: 'visible', timeout: 20_000 }).then(() => 'dialog', () => never),
      this.page.waitForSelector('.red-ui-notification-error', { state: 'visible', timeout: 20_000 }).then(() => 'error', () => never),
    ]);
    if (outcome !== 'deployed') {
      const text = await this.page.locator('.ui-dialog:visible, .red-ui-notification:visible').allTextContents();
      throw new Error(`deploy did not succeed (${outcome}): ${text.join(' ').replace(/\s+/g, ' ')}`);
    }
    await this.page.waitForFunction(() => !(window as unknown as { RED: { nodes: { dirty(): boolean } } }).RED.nodes.dirty());
    await wait(300); // node status and any error the runtime reports right after starting
    assert.deepEqual(this.editor.red.problemsSince(mark), [], 'the Node-RED log after deploy');
  }

  /** Nodes (and config nodes) the editor marks invalid, with their reasons. */
  async invalidNodes(): Promise<string[]> {
    return this.page.evaluate(() => {
      type N = { id: string; type: string; name?: string; valid?: boolean; validationErrors?: string[] };
      const RED = (window as unknown as { RED: { nodes: { eachNode(f: (n: N) => void): void; eachConfig(f: (n: N) => void): void } } }).RED;
      // (no function assigned to a name in here: tsx would wrap it in a helper the page does not have)
      const all: N[] = [];
      RED.nodes.eachNode((n) => void all.push(n));
      RED.nodes.eachConfig((n) => void all.push(n));
      return all.filter((n) => n.valid === false).map((n) => `${n.type} ${n.id} "${n.name || ''}": ${(n.validationErrors || []).join(', ')}`);
    });
  }

  /** Opens a sidebar tab as a user does: its tab, its button, or its entry under View. */
  async openSidebarTab(id: string): Promise<void> {
    const active = () => this.page.evaluate((tabId) => document.getElementById(`red-ui-tab-${tabId}`)?.classList.contains('active') ?? false, id);
    if (await active()) return;
    const tab = this.page.locator(`#red-ui-tab-${id} a.red-ui-tab-label`);
    const button = this.page.locator(`#red-ui-tab-${id}-link-button`);
    if (await tab.isVisible()) await tab.click();
    else if (await button.isVisible()) await button.click();
    else {
      await this.page.click('#red-ui-header-button-sidemenu');
      await this.page.hover('#menu-item-view-menu');
      await this.page.click(`#menu-item-view-menu-${id}`);
    }
    await this.page.waitForFunction((tabId) => document.getElementById(`red-ui-tab-${tabId}`)?.classList.contains('active'), id);
  }

  /** Opens the SMS tab on one of its sections (phone, log, optOuts, conversations, outbox, glance). */
  async openSmsSection(section: string): Promise<void> {
    await this.openSidebarTab('exotel-sms');
    await this.page.click(`#exotel-sms-show-${section}`);
    await this.page.waitForSelector(`#exotel-sms-show-${section}.selected`);
  }

  /** Opens the SMS tab on its phone, the sandbox. */
  async openPhone(): Promise<void> {
    await this.openSmsSection('phone');
    await this.page.waitForSelector('#exotel-sandbox', { state: 'visible' });
  }

  /** Drags a node from the palette onto the workspace at (x, y) of the chart; resolves with its id. */
  async dragFromPalette(type: string, x: number, y: number): Promise<string> {
    const entry = this.page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
    await entry.scrollIntoViewIfNeeded();
    const from = (await entry.boundingBox())!;
    const chart = (await this.page.locator('#red-ui-workspace-chart').boundingBox())!;
    const before = await this.nodeIds(type);
    await this.page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await this.page.mouse.down();
    await this.page.mouse.move(from.x + from.width / 2 + 20, from.y + from.height / 2 + 5, { steps: 4 });
    await this.page.mouse.move(chart.x + x, chart.y + y, { steps: 12 });
    await this.page.mouse.up();
    const id = await this.page.waitForFunction(([t, old]) => {
      const RED = (window as unknown as { RED: { nodes: { filterNodes(f: object): Array<{ id: string }> } } }).RED;
      const added = RED.nodes.filterNodes({ type: t }).filter((n) => !(old as string[]).includes(n.id));
      return added.length === 1 && added[0].id;
    }, [type, before] as const);
    return (await id.jsonValue()) as string;
  }

  nodeIds(type: string): Promise<string[]> {
    return this.page.evaluate((t) => (window as unknown as { RED: { nodes: { filterNodes(f: object): Array<{ id: string }> } } }).RED.nodes.filterNodes({ type: t }).map((n) => n.id), type);
  }

  /** Double-clicks a node on the canvas: its edit dialog opens. */
  async openNode(id: string): Promise<void> {
    await this.page.locator(`[id="${id}"] .red-ui-flow-node`).dblclick();
    await this.page.waitForSelector('#dialog-form', { state: 'visible' });
    await this.page.waitForSelector('#node-dialog-ok', { state: 'visible' });
  }

  async closeDialog(): Promise<void> {
    await this.page.click('#node-dialog-ok');
    await this.page.waitForSelector('#dialog-form', { state: 'detached' });
  }

  /** Chooses a TypedInput's type from its menu, as a user does (e.g. `str` for a typed text). */
  async chooseType(input: string, type: string): Promise<void> {
    await this.page.locator(`#dialog-form .form-row:has(${input}) button.red-ui-typedInput-type-select`).click();
    await this.page.locator(`.red-ui-typedInput-options:visible [value="${type}"]`).click();
    await this.page.waitForSelector('.red-ui-typedInput-options', { state: 'hidden' });
  }

  /** Types into a TypedInput's visible field (the original input is hidden behind the widget). */
  async fillTyped(input: string, value: string): Promise<void> {
    await this.page.locator(`#dialog-form .form-row:has(${input}) input.red-ui-typedInput-input`).fill(value);
  }

  /** Drags a wire from output `port` (0-based) of one node to the input of another. */
  async wire(from: string, port: number, to: string): Promise<void> {
    const output = this.page.locator(`[id="${from}"] .red-ui-flow-port-output`).nth(port).locator('.red-ui-flow-port');
    const input = this.page.locator(`[id="${to}"] .red-ui-flow-port-input .red-ui-flow-port`);
    const a = (await output.boundingBox())!;
    const b = (await input.boundingBox())!;
    await this.page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
    await this.page.mouse.down();
    await this.page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 6 });
    await this.page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 6 });
    await this.page.mouse.up();
    await this.page.waitForFunction(([s, p, t]) => {
      const RED = (window as unknown as { RED: { nodes: { filterLinks(f: object): unknown[]; node(id: string): object } } }).RED;
      return RED.nodes.filterLinks({ source: RED.nodes.node(s as string), sourcePort: p, target: RED.nodes.node(t as string) }).length === 1;
    }, [from, port, to] as const);
  }
}

/** The SMS sandbox phone in the sidebar. */
export class Phone {
  constructor(private readonly page: Page) {}

  bubbles(): Locator {
    return this.page.locator('#exotel-sandbox-thread .exotel-sandbox-message');
  }

  /** The thread as `direction status: body` lines. */
  texts(): Promise<string[]> {
    return this.bubbles().evaluateAll((bubbles) => bubbles.map((b) => `${(b as HTMLElement).dataset.direction} ${(b as HTMLElement).dataset.status}: ${b.querySelector('.exotel-sandbox-body')!.textContent}`));
  }

  /** Waits for the last bubble of `direction` that shows `text`. */
  async expect(text: string | RegExp, direction: 'in' | 'out' = 'out'): Promise<Locator> {
    const bubble = this.bubbles().filter({ has: this.page.locator('.exotel-sandbox-body', { hasText: text }) }).and(this.page.locator(`[data-direction="${direction}"]`)).last();
    try {
      await bubble.waitFor({ state: 'visible', timeout: 10_000 });
    } catch {
      throw new Error(`the thread does not show ${direction}: "${String(text)}"; it shows ${JSON.stringify(await this.texts(), null, 2)}`);
    }
    return bubble;
  }

  /** Types the customer's reply and presses Enter; waits until it and one more message are in the thread. */
  async reply(text: string): Promise<void> {
    const before = await this.bubbles().count();
    await this.page.fill('#exotel-sandbox-text', text);
    await this.page.press('#exotel-sandbox-text', 'Enter');
    await this.expect(text, 'in');
    await this.page.waitForFunction((n) => document.querySelectorAll('#exotel-sandbox-thread .exotel-sandbox-message').length > n, before + 1);
  }
}

/** An editor opened on a Node-RED child that starts with the given flows (the dialog specs). */
export interface FlowsEditor {
  red: NodeRedChild;
  page: Page;
  /** scripts in the page that raised an error */
  pageErrors: string[];
  close(): Promise<void>;
}

/** Starts Node-RED with `flows` (and credentials) and chromium beside it; resolves once node `readyNode` is in the editor. */
export async function openEditorWithFlows(options: { flows: LaunchOptions['flows']; credentials?: LaunchOptions['credentials']; label: string; readyNode: string }): Promise<FlowsEditor> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `exotel-${options.label}-`));
  const red = await NodeRedChild.create({ flows: options.flows, credentials: options.credentials, label: options.label, settings: { editorTheme: { tours: false } } });
  const { chromium } = await import('playwright-core');
  const [, context] = await Promise.all([
    red.start(),
    chromium.launchPersistentContext(path.join(work, 'profile'), { executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'], viewport: VIEWPORT }),
  ]);
  const close = async () => {
    await context.close().catch(() => undefined);
    await red.stop();
    red.remove();
    fs.rmSync(work, { recursive: true, force: true });
  };
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(String(err.stack ?? err)));
  await page.goto(`${red.adminUrl}/`, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction((id) => {
    const w = window as unknown as { RED?: { nodes?: { node(id: string): unknown } }; $?: (s: string) => { is(s: string): boolean } };
    return !!w.RED?.nodes?.node(id) && !!w.$ && !w.$('#red-ui-loading-progress').is(':visible');
  }, options.readyNode, { timeout: 30_000 });
  return { red, page, pageErrors, close };
}
