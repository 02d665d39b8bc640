// The editor as a user meets it: a real Node-RED (node_modules/node-red) started as a child process
// on a temporary user directory into which this package is installed as a module (a symlink into
// <userDir>/node_modules, listed in its package.json, so that Import ▸ Examples lists our examples),
// and Debian's chromium driven by playwright-core. One Node-RED and one browser for the whole spec.
// It installs the build (dist/), as npm would unpack the package: `npm test` builds first.
//
// Screenshots for the README are written to docs/images/ on every run; when a test fails, a
// screenshot of the moment goes to test/artifacts/ and the Node-RED log is printed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import pkg from '../../package.json';
import { NodeRedProcess } from '../support/node-red-process';
import { present } from '../support/present';
import type { FlowNode } from '../support/red';
import { createUserDir } from '../support/start-script';
import { freePort, seconds, wait } from '../support/wait';
import { installPackage } from '../support/browser';

// The editor page's globals, for the callbacks of page.evaluate and page.waitForFunction (they run in
// the browser).
/** A node in the editor, as the spec reads it (its other properties depend on its type). */
interface EditorNode {
  id: string;
  type: string;
  name?: string;
  z?: string;
  valid?: boolean;
  validationErrors?: string[];
  [property: string]: any;
}
/** The parts of the editor's RED the spec calls. */
interface EditorRED {
  nodes: {
    getType(type: string): unknown;
    dirty(): boolean;
    eachNode(callback: (n: EditorNode) => void): void;
    eachConfig(callback: (n: EditorNode) => void): void;
    eachWorkspace(callback: (w: EditorNode) => void): void;
    filterNodes(filter: Partial<EditorNode>): EditorNode[];
    node(id: string): EditorNode | null;
  };
  workspaces: { count(): number; active(): string };
  actions: { invoke(name: string): void };
}
declare const RED: EditorRED;
declare global {
  interface Window {
    RED?: EditorRED;
  }
}

const root = path.join(__dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const IMAGES = path.join(root, 'docs', 'images');
const ARTIFACTS = path.join(root, 'test', 'artifacts');
const EXAMPLES = path.join(root, 'examples');
const VIEWPORT = { width: 1400, height: 900 };

const CATEGORY = 'Exotel SMS';
const PALETTE_TYPES = ['exotel-inbound', 'keyword-switch', 'conversation-state', 'exotel-send', 'opt-out-store'];
const CUSTOMER = '+919876543210';

const OPT_IN = {
  ask: 'Reply YES to receive order updates. Reply STOP to unsubscribe.',
  subscribed: 'You are now subscribed to order updates from ExampleStore.',
  unsubscribed: 'You have been unsubscribed from ExampleStore order updates and will get no more messages. Reply START to subscribe again.',
  update: /order #1234 has shipped/,
};
const SURVEY = {
  question: 'How was your experience? Reply 1 for Great, 2 for Good, 3 for Poor.',
  thanks: 'Thank you for your feedback! We are glad you had a great experience.',
};



/** The examples as Import ▸ Examples lists them: file name without ".json". */
function exampleNames() {
  return fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.json')).sort().map((f) => f.slice(0, -'.json'.length));
}

/** The first paragraph of a node's help (nodes/locales/en-US/<type>.html), as text. */
function helpOpening(type: string) {
  const html = fs.readFileSync(path.join(root, 'nodes', 'locales', 'en-US', `${type}.html`), 'utf8');
  const paragraph = /<p>([\s\S]*?)<\/p>/.exec(html);
  assert.ok(paragraph, `${type}.html has no <p>`);
  const text = paragraph[1].replace(/<[^>]+>/g, '').replace(/&[a-z]+;/g, ' ').replace(/\s+/g, ' ').trim();
  return text.split(/[:.,;(]/)[0].trim();
}


describe('the editor in a browser (Node-RED + chromium)', function () {
  this.timeout(60_000);
  let work: string;
  let red: NodeRedProcess;
  let base: string;
  let browserStarted: Promise<BrowserContext>;
  let browserContext: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const timings: Record<string, string> = {};

  before(async function () {
    this.timeout(120_000);
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
    let t = Date.now();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-red-exotel-browser-'));
    const userDir = createUserDir(path.join(work, 'user'));
    await installPackage(userDir);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const settings = {
      uiHost: '127.0.0.1',
      uiPort: port,
      flowFile: 'flows.json',
      credentialSecret: false,
      telemetry: { enabled: false },
      editorTheme: { tours: false }, // no welcome tour over the canvas
      logging: { console: { level: 'info', metrics: false, audit: false } },
      exotelSms: { storePath: path.join(userDir, 'exotel-sms.db') },
    };
    fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
    fs.writeFileSync(path.join(userDir, 'flows.json'), '[]');
    red = new NodeRedProcess({ redJs: require.resolve('node-red/red.js', { paths: [root] }), userDir });
    const { chromium } = await import('playwright-core');
    // chromium starts while Node-RED does
    browserStarted = chromium.launchPersistentContext(path.join(work, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      viewport: VIEWPORT,
      deviceScaleFactor: 1,
      locale: 'en-US',
      timezoneId: 'Asia/Kolkata',
    });
    browserStarted.catch(() => {}); // reported below, or closed in `after` if Node-RED fails first
    await red.ready(60_000);
    timings['Node-RED start'] = seconds(Date.now() - t);
    t = Date.now();
    browserContext = await browserStarted;
    browserContext.setDefaultTimeout(15_000);
    // tsx (esbuild, keepNames) wraps the spec's named inner functions in __name(…) calls; the callbacks
    // of page.evaluate run in the browser, where __name must exist too
    await browserContext.addInitScript({ content: 'globalThis.__name = (target) => target;' });
    page = browserContext.pages()[0] || (await browserContext.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.stack || String(err)));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location().url})`);
    });
    timings['chromium start (beyond Node-RED\'s)'] = seconds(Date.now() - t);
    t = Date.now();
    await openEditor();
    timings['editor load'] = seconds(Date.now() - t);
    fs.mkdirSync(IMAGES, { recursive: true });
  });

  let shownLog = false;
  afterEach(async function () {
    const test = this.currentTest;
    if (test?.state !== 'failed') return;
    if (page) {
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      const file = path.join(ARTIFACTS, `browser-${test.title.replace(/[^a-z0-9]+/gi, '-').toLowerCase().slice(0, 80)}.png`);
      await page.screenshot({ path: file }).then(() => console.log(`      screenshot of the failure: ${path.relative(root, file)}`), () => {});
    }
    if (pageErrors.length || consoleErrors.length) console.log(`      --- browser errors ---\n${[...pageErrors, ...consoleErrors].join('\n').replace(/^/gm, '      | ')}`);
    if (red && !shownLog) {
      shownLog = true;
      console.log(`      --- Node-RED log ---\n${red.log.replace(/^/gm, '      | ')}`);
    }
  });

  after(async function () {
    this.timeout(30_000);
    const context = browserContext || (browserStarted && (await browserStarted.catch(() => null)));
    if (context) await context.close().catch(() => {});
    if (red) await red.stop();
    if (red && process.env.SHOW_NODE_RED_LOG) console.log(`      --- Node-RED log ---\n${red.log.replace(/^/gm, '      | ')}`);
    if (Object.keys(timings).length) console.log(`      ${Object.entries(timings).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  // ---- helpers --------------------------------------------------------------------------------

  async function openEditor() {
    await page.goto(base, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.getType('exotel-send') && RED.workspaces.count() > 0 &&
      !$('#red-ui-loading-progress').is(':visible') && $('.red-ui-palette-node[data-palette-type="exotel-send"]').length > 0, null, { timeout: 30_000 });
  }

  /** Empties the runtime's flows through the admin API, and loads the editor afresh. */
  async function resetFlows() {
    const res = await fetch(`${base}/flows`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: '[]' });
    assert.ok(res.ok, `POST /flows answered ${res.status}`);
    await openEditor();
  }

  async function dismissNotifications() {
    await page.evaluate(() => $('.red-ui-notification').each(function () { const n = this as HTMLElement & { close?: () => void }; if (n.close) n.close(); else $(n).remove(); }));
    await page.waitForFunction(() => $('.red-ui-notification:visible').length === 0, null, { timeout: 5000 }).catch(() => {});
  }

  async function errorNotifications() {
    return page.evaluate(() => $('.red-ui-notification-error:visible, .red-ui-notification-warning:visible').map(function () { return $(this).text().trim(); }).get());
  }

  /** Clicks Deploy and waits until the editor says it deployed; fails on a warning dialog or an error. */
  async function deploy() {
    const mark = red.log.length;
    await dismissNotifications();
    await page.click('#red-ui-header-button-deploy');
    const outcome = await Promise.race([
      page.waitForSelector('.red-ui-notification-success', { state: 'visible', timeout: 20_000 }).then(() => 'deployed'),
      page.waitForSelector('#red-ui-deploy-dialog-confirm, .red-ui-deploy-dialog-confirm-list, .ui-dialog:visible .red-ui-deploy-dialog-confirm-list', { state: 'visible', timeout: 20_000 }).then(() => 'dialog').catch(() => new Promise(() => {})),
      page.waitForSelector('.red-ui-notification-error', { state: 'visible', timeout: 20_000 }).then(() => 'error').catch(() => new Promise(() => {})),
    ]);
    if (outcome !== 'deployed') {
      const text = await page.evaluate(() => $('.ui-dialog:visible, .red-ui-notification:visible').text().replace(/\s+/g, ' ').trim());
      throw new Error(`deploy did not succeed (${outcome}): ${text}`);
    }
    await page.waitForFunction(() => !RED.nodes.dirty());
    await wait(300); // node status and any error the runtime reports right after starting
    assert.deepEqual(await errorNotifications(), [], 'notifications after deploy');
    assert.deepEqual(red.problemsSince(mark), [], 'the Node-RED log after deploy');
  }

  /** Every node of the workspace and every config node valid, and no red triangle on show. */
  async function assertAllValid() {
    const invalid = await page.evaluate(() => {
      const out: string[] = [];
      const check = (n: EditorNode) => {
        if (n.valid === false) out.push(`${n.type} ${n.id} "${n.name || ''}": ${(n.validationErrors || []).join(', ')}`);
      };
      RED.nodes.eachNode(check);
      RED.nodes.eachConfig(check);
      return out;
    });
    assert.deepEqual(invalid, [], 'invalid nodes');
    assert.equal(await page.locator('#red-ui-workspace-chart .red-ui-flow-node-error:visible').count(), 0, 'red triangles on show');
  }

  async function importExample(name: string): Promise<FlowNode[]> {
    await page.click('#red-ui-header-button-sidemenu');
    await page.click('#menu-item-import');
    await page.click('#red-ui-tab-red-ui-clipboard-dialog-import-tab-examples a');
    const library = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
    const moduleLabel = library.locator('.red-ui-treeList-label', { hasText: pkg.name }).first();
    await moduleLabel.click();
    const entry = library.locator('.red-ui-treeList-label', { hasText: name }).first();
    await entry.waitFor({ state: 'visible' });
    await entry.click();
    await page.locator('#red-ui-clipboard-dialog-ok:not(.ui-state-disabled)').click();
    await page.waitForSelector('#red-ui-clipboard-dialog', { state: 'hidden' });
    // the example brings its own tab
    const flow = JSON.parse(fs.readFileSync(path.join(EXAMPLES, `${name}.json`), 'utf8')) as FlowNode[];
    const tab = present(flow.find((n) => n.type === 'tab'), 'the example\'s tab');
    // the empty "Flow 1" the editor made for the empty workspace goes: the example is alone
    const blank = await page.evaluate((keep) => {
      const found: string[] = [];
      RED.nodes.eachWorkspace((ws) => { if (ws.id !== keep && RED.nodes.filterNodes({ z: ws.id }).length === 0) found.push(ws.id); });
      return found;
    }, tab.id);
    for (const id of blank) {
      await page.locator(`#red-ui-tab-${id} a.red-ui-tab-label`).click();
      await page.evaluate(() => RED.actions.invoke('core:remove-flow'));
    }
    await page.waitForFunction((id) => RED.workspaces.count() === 1, tab.id);
    // (a click on the active tab would be taken with the earlier one for a double-click: its properties)
    if (await page.evaluate((id) => RED.workspaces.active() !== id, tab.id)) await page.locator(`#red-ui-tab-${tab.id} a.red-ui-tab-label`).click();
    await page.waitForFunction((id) => RED.workspaces.active() === id, tab.id);
    return flow;
  }

  /** Opens a sidebar tab as a user does: its button, or its entry under View. */
  async function openSidebarTab(id: string) {
    const button = page.locator(`#red-ui-tab-${id}-link-button`);
    const tab = page.locator(`#red-ui-tab-${id} a.red-ui-tab-label`);
    if (await page.evaluate((tabId) => $(`#red-ui-tab-${tabId}`).hasClass('active'), id)) return;
    if (await tab.isVisible()) await tab.click();
    else if (await button.isVisible()) await button.click();
    else {
      await page.click('#red-ui-header-button-sidemenu');
      await page.hover('#menu-item-view-menu');
      await page.click(`#menu-item-view-menu-${id}`);
    }
    await page.waitForFunction((tabId) => $(`#red-ui-tab-${tabId}`).hasClass('active'), id);
  }

  /** Opens the SMS tab on its phone (the sandbox), as a user does: the tab, then its Phone button. */
  async function openPhone() {
    await openSidebarTab('exotel-sms');
    await page.click('#exotel-sms-show-phone');
    await page.waitForSelector('#exotel-sandbox', { state: 'visible' });
  }

  /** Drags a node from the palette onto the workspace; resolves with its id. */
  async function dragFromPalette(type: string, x: number, y: number): Promise<string> {
    const entry = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
    await entry.scrollIntoViewIfNeeded();
    const from = present(await entry.boundingBox(), `the palette entry of ${type}`);
    const chart = present(await page.locator('#red-ui-workspace-chart').boundingBox(), 'the workspace');
    const before = await page.evaluate((t) => RED.nodes.filterNodes({ type: t }).map((n) => n.id), type);
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await page.mouse.down();
    await page.mouse.move(from.x + from.width / 2 + 20, from.y + from.height / 2 + 5, { steps: 4 });
    await page.mouse.move(chart.x + x, chart.y + y, { steps: 12 });
    await page.mouse.up();
    const id = await page.waitForFunction(([t, old]: [string, string[]]) => {
      const added = RED.nodes.filterNodes({ type: t }).filter((n) => !old.includes(n.id));
      return added.length === 1 && added[0].id;
    }, [type, before] as [string, string[]]);
    return (await id.jsonValue()) as string;
  }

  async function openNode(id: string) {
    await page.locator(`[id="${id}"] .red-ui-flow-node`).dblclick();
    await page.waitForSelector('#dialog-form', { state: 'visible' });
    await page.waitForSelector('#node-dialog-ok', { state: 'visible' });
  }

  async function closeDialog() {
    await page.click('#node-dialog-ok');
    await page.waitForSelector('#dialog-form', { state: 'detached' });
  }

  async function clickInject(id: string) {
    await dismissNotifications();
    await page.locator(`[id="${id}"] .red-ui-flow-node-button-button`).click();
    await page.waitForSelector('.red-ui-notification-success', { state: 'visible' });
  }

  const thread = () => page.locator('#exotel-sandbox-thread .exotel-sandbox-message');
  async function threadTexts() {
    return page.locator('#exotel-sandbox-thread .exotel-sandbox-message').evaluateAll((bubbles) => bubbles.map((b) => `${(b as HTMLElement).dataset.direction}: ${b.querySelector('.exotel-sandbox-body')?.textContent}`));
  }
  async function expectInThread(text: string | RegExp, direction = 'out') {
    const bubble = thread().filter({ has: page.locator('.exotel-sandbox-body', { hasText: text }) }).and(page.locator(`[data-direction="${direction}"]`)).last();
    try {
      await bubble.waitFor({ state: 'visible', timeout: 10_000 });
    } catch (err) {
      throw new Error(`the thread does not show ${direction}: "${String(text)}"; it shows ${JSON.stringify(await threadTexts(), null, 2)}`);
    }
    return bubble;
  }
  async function typeReply(text: string) {
    const before = await thread().count();
    await page.fill('#exotel-sandbox-text', text);
    await page.press('#exotel-sandbox-text', 'Enter');
    await expectInThread(text, 'in');
    await page.waitForFunction((n) => $('#exotel-sandbox-thread .exotel-sandbox-message').length > n, before);
  }

  /** Opens the sandbox tab on `accountId`, on the customer's thread, emptied. */
  async function openSandbox(accountId: string) {
    await openPhone();
    await page.waitForSelector(`#exotel-sandbox-account option[value="${accountId}"]`, { state: 'attached' });
    await page.selectOption('#exotel-sandbox-account', accountId);
    await page.fill('#exotel-sandbox-phone', CUSTOMER);
    await page.press('#exotel-sandbox-phone', 'Enter');
    await page.click('#exotel-sandbox-clear');
    await page.waitForSelector('#exotel-sandbox-thread .exotel-sandbox-thread-empty');
  }

  async function screenshot(name: string) {
    await dismissNotifications();
    await page.mouse.move(VIEWPORT.width / 2, 5); // no hover effects or tooltips
    await wait(800);
    await page.screenshot({ path: path.join(IMAGES, name) });
  }

  // ---- the tests ------------------------------------------------------------------------------

  it(`the palette shows the five nodes in the "${CATEGORY}" category`, async function () {
    const category = page.locator('.red-ui-palette-category').filter({ has: page.locator('.red-ui-palette-header span', { hasText: new RegExp(`^${CATEGORY}$`) }) });
    assert.equal(await category.count(), 1, `one palette category "${CATEGORY}"`);
    const types = await category.locator('.red-ui-palette-node').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-palette-type')));
    assert.deepEqual([...types].sort(), [...PALETTE_TYPES].sort());
    for (const type of PALETTE_TYPES) {
      const entry = category.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      await entry.scrollIntoViewIfNeeded();
      assert.ok(await entry.isVisible(), `${type} is not visible in the palette`);
      // the palette breaks a label at its hyphens: "opt - out store"
      const label = String(await entry.locator('.red-ui-palette-label').textContent()).replace(/\s*-\s*/g, '-').replace(/\s+/g, ' ').trim();
      const catalogue = JSON.parse(fs.readFileSync(path.join(root, 'nodes', 'locales', 'en-US', `${type}.json`), 'utf8')) as Record<string, { paletteLabel: string }>;
      assert.equal(label, catalogue[type].paletteLabel, `${type}'s palette label`);
    }
    // the account is a config node: not in the palette
    assert.equal(await page.locator('.red-ui-palette-node[data-palette-type="exotel-account"]').count(), 0);
  });

  describe('each node: its dialog, help and a deploy', function () {
    const ids: Record<string, string> = {};
    // the fields each dialog must show, and how a user fills in what is needed
    const dialogs = {
      'exotel-send': { fields: ['name', 'account', 'to', 'text'], at: [360, 260] },
      'exotel-inbound': { fields: ['name', 'account', 'path'], at: [160, 140] },
      'keyword-switch': { fields: ['name', 'property', 'rule-container'], at: [360, 140] },
      'conversation-state': { fields: ['name', 'conversation', 'action'], at: [160, 260] },
      'opt-out-store': { fields: ['name', 'action', 'phone'], at: [160, 380] },
    };

    before(async function () {
      await resetFlows();
      await openSidebarTab('help');
    });

    // a test that failed with a dialog open must not fail the next ones too
    beforeEach(async function () {
      for (const cancel of ['#node-config-dialog-cancel', '#node-dialog-cancel']) {
        if (await page.locator(cancel).isVisible()) await page.click(cancel);
      }
      await page.waitForSelector('#dialog-form', { state: 'detached' });
    });

    for (const [type, { fields, at }] of Object.entries(dialogs)) {
      it(`${type}: the edit dialog opens with its fields, and the sidebar shows its help`, async function () {
        ids[type] = await dragFromPalette(type, at[0], at[1]);
        await openNode(ids[type]);
        for (const field of fields) {
          const input = page.locator(`#dialog-form #node-input-${field}`);
          assert.equal(await input.count(), 1, `#node-input-${field} is not in the dialog`);
          // a TypedInput hides its <input> behind its own widget: the row must show
          assert.ok(await page.locator(`#dialog-form .form-row:has(#node-input-${field})`).first().isVisible(), `the row of ${field} is not visible`);
        }
        const help = page.locator('.red-ui-sidebar-help-stack');
        const opening = helpOpening(type);
        await page.waitForFunction(([text]) => $('.red-ui-sidebar-help-stack:visible').text().replace(/\s+/g, ' ').includes(text), [opening]);
        assert.ok(await help.isVisible());
        for (const heading of ['Inputs', 'Outputs']) {
          if (type === 'exotel-inbound' && heading === 'Inputs') continue; // it has none
          assert.ok(String(await page.locator('.red-ui-sidebar-help-stack:visible').textContent()).includes(heading), `the help of ${type} has no "${heading}"`);
        }

        if (type === 'exotel-send') {
          // no account yet: create one from the dialog, as a user does, in sandbox mode
          await page.click('#node-input-btn-account-add');
          await page.waitForSelector('#node-config-input-mode', { state: 'visible' });
          await page.fill('#node-config-input-name', 'Shop (sandbox)');
          await page.selectOption('#node-config-input-mode', 'sandbox');
          assert.ok(await page.locator('#exotel-account-mode-tip .exotel-account-mode-sandbox').isVisible(), 'the sandbox tip');
          assert.match(String(await page.locator('#exotel-account-mode-tip').textContent()), /SMS sandbox/);
          await page.fill('#node-config-input-defaultFrom', 'EXSHOP');
          await page.click('#node-config-dialog-ok');
          await page.waitForSelector('#node-config-input-mode', { state: 'detached' });
          await page.waitForFunction(() => /^[0-9a-f.]+$/i.test(String($('#node-input-account').val() || '')));
          await page.fill('#node-input-name', 'Order update');
          // a new node's Text is typed in (it starts empty, with a placeholder)
          await page.fill('#dialog-form .form-row:has(#node-input-text) input.red-ui-typedInput-input', 'Thanks! Reply STOP to unsubscribe');
          await page.press('#dialog-form .form-row:has(#node-input-text) input.red-ui-typedInput-input', 'Tab'); // checked as the user leaves the field
          await screenshot('dialog-send.png');
        }
        if (type === 'exotel-inbound') {
          await page.selectOption('#node-input-account', { label: 'Shop (sandbox)' });
          if (!(await page.locator('#node-input-path').inputValue())) await page.fill('#node-input-path', '/exotel/sms');
        }
        if (type === 'keyword-switch') {
          const keywords = page.locator('#node-input-rule-container .keyword-switch-rule-value:visible').first();
          if (!(await keywords.inputValue())) await keywords.fill('YES, START');
        }
        if (type === 'conversation-state') {
          if (!(await page.locator('#node-input-conversation').inputValue())) await page.fill('#node-input-conversation', 'survey');
          const step = page.locator('#node-input-step');
          if ((await step.isVisible()) && !(await step.inputValue())) await step.fill('answer');
        }
        await closeDialog();
        const node = await page.evaluate((id) => ({ valid: RED.nodes.node(id)?.valid, errors: RED.nodes.node(id)?.validationErrors }), ids[type]);
        assert.equal(node.valid, true, `${type} is invalid after its dialog: ${JSON.stringify(node.errors)}`);
      });
    }

    it('the configured nodes deploy with no red triangle and no error', async function () {
      assert.equal(Object.keys(ids).length, PALETTE_TYPES.length, 'an earlier test did not add its node');
      await assertAllValid();
      await deploy();
      await assertAllValid();
      const account = await page.evaluate(() => {
        const found: { mode: string; name: string | undefined }[] = [];
        RED.nodes.eachConfig((n) => { if (n.type === 'exotel-account') found.push({ mode: n.mode, name: n.name }); });
        return found;
      });
      assert.deepEqual(account, [{ mode: 'sandbox', name: 'Shop (sandbox)' }]);
    });
  });

  describe('the examples, imported through Import ▸ Examples', function () {
    for (const name of exampleNames()) {
      it(`"${name}" imports and deploys without errors`, async function () {
        await resetFlows();
        const flow = await importExample(name);
        const imported = await page.evaluate(() => {
          const ids: string[] = [];
          RED.nodes.eachNode((n) => ids.push(n.id));
          RED.nodes.eachConfig((n) => ids.push(n.id));
          return ids;
        });
        for (const node of flow.filter((n) => n.type !== 'tab')) assert.ok(imported.includes(node.id), `${node.type} ${node.id} was not imported`);
        await assertAllValid();
        await deploy();
        await assertAllValid();
        const unknown = await page.evaluate(() => { const out: (string | undefined)[] = []; RED.nodes.eachNode((n) => { if (n.type === 'unknown') out.push(n.name); }); return out; });
        assert.deepEqual(unknown, []);
      });
    }
  });

  describe('the SMS sandbox tab', function () {
    it('says what to do when no sandbox account is deployed', async function () {
      await resetFlows();
      await openPhone();
      const empty = page.locator('#exotel-sandbox-empty');
      await empty.waitFor({ state: 'visible' });
      assert.match(String(await empty.textContent()), /Import ▸ Examples ▸ @smsflow\/node-red-exotel/);
      assert.equal(await page.locator('#exotel-sandbox-send').isVisible(), false);
    });

    it('runs the survey conversation of example 02 by typing the reply', async function () {
      // a newcomer's editor: the sidebar on its info tab (the editor reopens the tab last shown)
      await openSidebarTab('info');
      await resetFlows();
      const flow = await importExample('02 - Survey');
      await deploy();
      // the first deploy of a sandbox account offers to open the sandbox: the way in for a newcomer
      await page.click('#exotel-sandbox-hint-open');
      await page.waitForFunction(() => $('#red-ui-tab-exotel-sms').hasClass('active') && $('#exotel-sandbox').is(':visible'));
      const account = present(flow.find((n) => n.type === 'exotel-account')).id;
      await openSandbox(account);
      assert.equal(await page.inputValue('#exotel-sandbox-phone'), CUSTOMER);
      await clickInject(present(flow.find((n) => n.type === 'inject' && n.name === 'Send survey')).id);
      const question = await expectInThread(SURVEY.question);
      assert.match(String(await question.locator('.exotel-sandbox-status').textContent()), /^sent$/);
      await typeReply('1');
      await expectInThread(SURVEY.thanks);
      assert.deepEqual(await threadTexts(), [`out: ${SURVEY.question}`, 'in: 1', `out: ${SURVEY.thanks}`]);
      const reply = thread().and(page.locator('[data-direction="in"]'));
      assert.equal(await reply.locator('.exotel-sandbox-status').textContent(), 'received');
    });

    it('runs the opt-in conversation of example 01: ask, YES, STOP, and the order update is blocked', async function () {
      await resetFlows();
      const flow = await importExample('01 - Opt-in and opt-out');
      await deploy();
      const byName = (type: string, name: string) => present(flow.find((n) => n.type === type && n.name === name), name).id;
      const account = present(flow.find((n) => n.type === 'exotel-account')).id;

      // the palette, with the example on the canvas, zoomed out to show all of it
      await openSidebarTab('info');
      for (let i = 0; i < 2; i++) await page.click('#red-ui-view-zoom-out');
      await page.evaluate(() => {
        $('.red-ui-palette-category').each(function () {
          const open = $(this).find('.red-ui-palette-header span').text() === 'Exotel SMS';
          if ($(this).hasClass('red-ui-palette-open') !== open) $(this).find('.red-ui-palette-header').trigger('click');
        });
      });
      await page.waitForFunction(() => $('.red-ui-palette-node[data-palette-type="exotel-send"]').is(':visible'));
      await wait(500); // the palette's slide animation
      await screenshot('palette.png');

      await openSandbox(account);
      await clickInject(byName('inject', 'Ask for opt-in'));
      await expectInThread(OPT_IN.ask);
      await typeReply('YES');
      await expectInThread(OPT_IN.subscribed);
      await typeReply('STOP');
      await expectInThread(OPT_IN.unsubscribed);
      await clickInject(byName('inject', 'Send order update'));
      // the order update after STOP was not sent: it shows as a red bubble that says why
      await expectInThread(OPT_IN.update);
      const texts = await threadTexts();
      assert.deepEqual(texts.slice(0, 5), [`out: ${OPT_IN.ask}`, 'in: YES', `out: ${OPT_IN.subscribed}`, 'in: STOP', `out: ${OPT_IN.unsubscribed}`]);
      assert.equal(texts.length, 6);
      const blocked = thread().last();
      assert.equal(await blocked.getAttribute('data-status'), 'failed', 'an order update reached the customer after STOP');
      assert.match(String(await blocked.locator('.exotel-sandbox-cause').textContent()), /opted out/);
      await screenshot('sandbox-conversation.png');

      // START subscribes again: the number is left as it was found, for any test after this one
      await typeReply('START');
      await expectInThread(OPT_IN.subscribed);
    });

    it('shows a new outbound message without a reload, and keeps threads per number', async function () {
      // example 01 is still deployed: its "Ask for opt-in" goes to the customer's thread
      const account = await page.inputValue('#exotel-sandbox-account');
      const count = await thread().count();
      const ask = await page.evaluate(() => RED.nodes.filterNodes({ type: 'inject' }).find((n) => n.name === 'Ask for opt-in')?.id);
      await clickInject(present(ask, 'the inject node "Ask for opt-in"'));
      await page.waitForFunction((n) => $('#exotel-sandbox-thread .exotel-sandbox-message').length === n + 1, count);
      // another number: its own, empty thread; the first one is offered in the list
      await page.fill('#exotel-sandbox-phone', '09812345678');
      await page.press('#exotel-sandbox-phone', 'Enter');
      await page.waitForSelector('#exotel-sandbox-thread .exotel-sandbox-thread-empty');
      const offered = await page.locator('#exotel-sandbox-phones option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
      assert.ok(offered.includes(CUSTOMER), `the numbers offered: ${offered}`);
      await typeReply('HELP');
      await expectInThread(/reply YES or START to subscribe/);
      const threads = await (await fetch(`${base}/exotel-sandbox/${account}/threads`)).json();
      assert.deepEqual(threads.map((t: { phone: string }) => t.phone).sort(), [CUSTOMER, '+919812345678'].sort());
    });
  });

  describe('the SMS sandbox tab, with several SMS in nodes or none', function () {
    before(async function () {
      // deployed through the admin API: these flows are about the tab, not about importing
      const flow = [
        { id: 'doors-tab', type: 'tab', label: 'Doors' },
        { id: 'two-doors', type: 'exotel-account', name: 'Two doors', accountSid: '', apiBaseUrl: 'https://api.exotel.com', defaultFrom: 'EXSHOP', dltEntityId: '', defaultCountry: 'IN', mode: 'sandbox', rateLimit: 200, queueLimit: 10000 },
        { id: 'no-door', type: 'exotel-account', name: 'No door', accountSid: '', apiBaseUrl: 'https://api.exotel.com', defaultFrom: 'EXSHOP', dltEntityId: '', defaultCountry: 'IN', mode: 'sandbox', rateLimit: 200, queueLimit: 10000 },
        // the first door lets in one address only, which the sandbox is not: its replies are refused
        { id: 'door-one', type: 'exotel-inbound', z: 'doors-tab', name: 'Door one', account: 'two-doors', path: '/sandbox/one', allowList: '203.0.113.7', x: 160, y: 60, wires: [[]] },
        { id: 'door-two', type: 'exotel-inbound', z: 'doors-tab', name: 'Door two', account: 'two-doors', path: '/sandbox/two', allowList: '', x: 160, y: 120, wires: [[]] },
        { id: 'no-door-send', type: 'exotel-send', z: 'doors-tab', name: '', account: 'no-door', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', from: '', dltTemplateId: '', smsType: '', priority: '', statusCallback: '', optOutConfirmation: false, attempts: 4, x: 400, y: 60, wires: [[], []] },
      ];
      const res = await fetch(`${base}/flows`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(flow) });
      assert.ok(res.ok, `POST /flows answered ${res.status} ${await res.text()}`);
      await openEditor();
      await openPhone();
      await page.waitForSelector('#exotel-sandbox-account option[value="no-door"]', { state: 'attached' });
      await assertAllValid();
    });

    it('chooses which SMS in node a reply goes to, and shows a refused reply as rejected, with the reason', async function () {
      await openSandbox('two-doors');
      assert.ok(await page.isVisible('#exotel-sandbox-webhook'), 'the "Replies to" choice is not shown');
      const doors = await page.locator('#exotel-sandbox-webhook option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
      assert.deepEqual(doors, ['/sandbox/one', '/sandbox/two']);
      await page.selectOption('#exotel-sandbox-webhook', '/sandbox/two');
      await typeReply('through door two');
      const received = await expectInThread('through door two', 'in');
      assert.equal(await received.locator('.exotel-sandbox-status').textContent(), 'received');
      assert.match(String(await received.getAttribute('title')), /\/sandbox\/two/);

      await page.selectOption('#exotel-sandbox-webhook', '/sandbox/one');
      await typeReply('through door one');
      const refused = await expectInThread('through door one', 'in');
      assert.match(String(await refused.locator('.exotel-sandbox-status').textContent()), /^rejected: \/sandbox\/one answered 403: .*allow-list/);
      assert.ok(await refused.evaluate((el) => el.classList.contains('exotel-sandbox-rejected')));
    });

    it('says so when no SMS in node uses the account, and does not offer to send', async function () {
      await page.selectOption('#exotel-sandbox-account', 'no-door');
      await page.waitForSelector('#exotel-sandbox-no-inbound', { state: 'visible' });
      assert.match(String(await page.textContent('#exotel-sandbox-no-inbound')), /No deployed SMS in node uses this account/);
      assert.equal(await page.isDisabled('#exotel-sandbox-send'), true);
      assert.equal(await page.isDisabled('#exotel-sandbox-text'), true);
      assert.equal(await page.isVisible('#exotel-sandbox-webhook'), false);
    });
  });

  describe('at the end', function () {
    it('no script in the page raised an error', function () {
      assert.deepEqual(pageErrors, []);
    });

    it('nothing logged an error on the browser console (but the known benign ones)', function () {
      // The palette manager fetches the public node catalogue, out of reach of a machine offline; the
      // sandbox spec above makes the webhook refuse one reply on purpose (the phone shows it rejected,
      // and the admin route answers 502 for it), which the browser logs as a failed load.
      const BENIGN = [
        /^Failed to load resource: net::ERR_[A-Z_]+ \(https:\/\/catalogue\.nodered\.org\/catalogue\.json/,
        /^Failed to load resource: the server responded with a status of 502 \(Bad Gateway\) \(http:\/\/127\.0\.0\.1:\d+\/exotel-sandbox\/two-doors\/reply\)$/,
      ];
      assert.deepEqual(consoleErrors.filter((text) => !BENIGN.some((known) => known.test(text))), []);
    });
  });
});
