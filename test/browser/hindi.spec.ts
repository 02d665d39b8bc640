// The editor in Hindi, as a Hindi-speaking operator meets it: chromium set to Hindi (hi-IN) on a
// Node-RED whose runtime language is hi (settings.js `lang`). The palette, a node's dialog, the account
// dialog, the help in the sidebar and the statuses under the nodes are in Hindi; Node-RED's own texts
// stay English (it has no Hindi). Then an English browser chooses Hindi under User Settings › View ›
// Language, where this package adds it, and gets the same dialogs in Hindi after a reload.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { ARTIFACTS, CHROMIUM, Editor, ROOT, VIEWPORT, startBrowserEditor, type BrowserEditor } from '../support/browser';

const HI = path.join(ROOT, 'nodes', 'locales', 'hi');
const IMAGES = path.join(ROOT, 'docs', 'images');
const hi = (type: string) => JSON.parse(fs.readFileSync(path.join(HI, `${type}.json`), 'utf8'))[type];
const send = hi('exotel-send');
const inbound = hi('exotel-inbound');
const account = hi('exotel-account');
const sandbox = JSON.parse(fs.readFileSync(path.join(ROOT, 'plugins', 'locales', 'hi', 'exotel-sms.json'), 'utf8'))['exotel-sms'];
const fill = (text: string, vars: Record<string, string | number>) => text.replace(/__(\w+?)__/g, (_whole, name: string) => String(vars[name]));

/** The opening words of a node's Hindi help (nodes/locales/hi/<type>.html), as text. */
function helpOpening(type: string): string {
  const html = fs.readFileSync(path.join(HI, `${type}.html`), 'utf8');
  const paragraph = /<p>([\s\S]*?)<\/p>/.exec(html);
  assert.ok(paragraph, `hi/${type}.html has no <p>`);
  return paragraph[1].replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim().split(/[:।,]/)[0].trim();
}

/** A node type's label in the palette (Node-RED breaks it into lines). */
function paletteLabel(page: Page, type: string): Promise<string> {
  return page.locator(`.red-ui-palette-node[data-palette-type="${type}"] .red-ui-palette-label`).textContent().then((text) => (text ?? '').replace(/\s+/g, ' ').trim());
}

/** The text under a node on the canvas (its status). */
function statusOf(page: Page, id: string): Promise<string> {
  return page.locator(`[id="${id}"] .red-ui-flow-node-status-label`).textContent().then((text) => (text ?? '').trim());
}

describe('the editor in Hindi (Node-RED + chromium)', function () {
  this.timeout(60_000);
  let browser: BrowserEditor;
  let editor: Editor;
  const ids: Record<string, string> = {};
  let second: BrowserContext | null = null;
  let work = '';

  before(async function () {
    this.timeout(150_000);
    browser = await startBrowserEditor({ locale: 'hi-IN', settings: { lang: 'hi' } });
    editor = new Editor(browser);
  });

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !browser) return;
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `hindi-${this.currentTest.title.replace(/[^a-z0-9]+/gi, '-').toLowerCase().slice(0, 60)}.png`);
    await browser.page.screenshot({ path: file }).catch(() => undefined);
    console.log(`      screenshot: ${path.relative(ROOT, file)}\n      --- Node-RED log ---\n${browser.red.log.replace(/^/gm, '      | ')}`);
  });

  after(async function () {
    this.timeout(30_000);
    if (second) await second.close().catch(() => undefined);
    if (work) fs.rmSync(work, { recursive: true, force: true });
    if (browser) await browser.close();
  });

  it('a Hindi browser gets the palette, the send SMS dialog, the account dialog and the help in Hindi', async function () {
    const page = browser.page;
    assert.equal(await page.evaluate(() => navigator.language), 'hi-IN');
    assert.equal(await paletteLabel(page, 'exotel-send'), send.paletteLabel);
    assert.equal(await paletteLabel(page, 'exotel-inbound'), inbound.paletteLabel);

    await editor.openSidebarTab('help');
    ids.send = await editor.dragFromPalette('exotel-send', 420, 200);
    await editor.openNode(ids.send);
    assert.equal((await page.locator('label[for="node-input-to"]').textContent())?.trim(), send.label.to);
    assert.equal((await page.locator('label[for="node-input-text"]').textContent())?.trim(), send.label.text);
    assert.equal((await page.locator('#exotel-send-advanced-toggle').textContent())?.trim(), send.label.advanced);
    const opening = helpOpening('exotel-send');
    await page.waitForFunction((text) => (window as unknown as { $: (s: string) => { text(): string } }).$('.red-ui-sidebar-help-stack:visible').text().replace(/\s+/g, ' ').includes(text), opening);
    const help = String(await page.locator('.red-ui-sidebar-help-stack:visible').textContent());
    for (const heading of ['इनपुट', 'आउटपुट', 'विस्तार से', 'उदाहरण']) assert.ok(help.includes(heading), `the help shows no "${heading}"`);
    assert.ok(!help.includes('Sends an SMS through your Exotel account'), 'the English help is shown');

    // the account, made from the dialog as a user does: its dialog is in Hindi too
    await page.click('#node-input-btn-account-add');
    await page.waitForSelector('#node-config-input-mode', { state: 'visible' });
    await page.waitForFunction(() => document.querySelectorAll('#node-config-input-mode option').length > 0);
    const modes = await page.locator('#node-config-input-mode option').allTextContents();
    assert.ok(modes.includes(account.mode.sandbox), `the modes offered: ${modes.join(', ')}`);
    await page.selectOption('#node-config-input-mode', 'sandbox');
    assert.match(String(await page.locator('#exotel-account-mode-tip').textContent()), /सैंडबॉक्स/);
    await page.fill('#node-config-input-name', 'दुकान (सैंडबॉक्स)');
    await page.click('#node-config-dialog-ok');
    await page.waitForSelector('#node-config-input-mode', { state: 'detached' });
    await editor.fillTyped('#node-input-text', 'धन्यवाद! आपका ऑर्डर तैयार है।');
    await page.click('#node-input-name'); // the Text is checked as the user leaves it: Hindi text is fine
    await page.waitForFunction(() => !document.querySelector('#dialog-form .form-row:has(#node-input-text) .red-ui-typedInput-container.input-error'));
    fs.mkdirSync(IMAGES, { recursive: true });
    await page.screenshot({ path: path.join(IMAGES, 'editor-hindi.png') });
    await editor.closeDialog();
  });

  it('SMS in shows its sandbox line in Hindi, and after a deploy the statuses under the nodes are Hindi', async function () {
    const page = browser.page;
    ids.inbound = await editor.dragFromPalette('exotel-inbound', 160, 200);
    await editor.openNode(ids.inbound);
    await page.waitForSelector('#exotel-inbound-sandbox', { state: 'visible' });
    assert.equal((await page.locator('#exotel-inbound-sandbox').textContent())?.replace(/\s+/g, ' ').includes(inbound.tip.sandbox.split(':')[0]), true);
    await editor.closeDialog();
    await editor.wire(ids.inbound, 0, ids.send);
    assert.deepEqual(await editor.invalidNodes(), []);
    await editor.deploy();
    const listening = fill(inbound.runtime.status.listening, { path: '/exotel/sms' });
    await page.waitForFunction(([id, text]) => document.querySelector(`[id="${id}"] .red-ui-flow-node-status-label`)?.textContent?.trim() === text, [ids.inbound, listening] as const);
    await page.waitForFunction(([id, text]) => document.querySelector(`[id="${id}"] .red-ui-flow-node-status-label`)?.textContent?.trim() === text, [ids.send, send.runtime.status.ready] as const);
    assert.equal(await statusOf(page, ids.send), 'तैयार');
    // the SMS tab, named under View, its sections in Hindi, the phone among them
    await editor.openPhone();
    assert.ok(await page.locator('#exotel-sandbox').isVisible());
    assert.equal((await page.locator('#menu-item-view-menu-exotel-sms').textContent())?.trim(), sandbox.name);
    assert.deepEqual(await page.locator('.exotel-sms-nav-button').allTextContents().then((texts) => texts.map((text) => text.trim())), Object.values(sandbox.sections));
    assert.deepEqual(browser.pageErrors, [], 'no script in the page raised an error');
  });

  it('an English browser offers Hindi under User Settings › View › Language; chosen, the dialogs are Hindi after a reload', async function () {
    this.timeout(120_000);
    const { chromium } = require('playwright-core') as typeof import('playwright-core');
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-red-exotel-hindi-'));
    second = await chromium.launchPersistentContext(path.join(work, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      viewport: VIEWPORT,
      locale: 'en-US',
      timezoneId: 'Asia/Kolkata',
    });
    second.setDefaultTimeout(15_000);
    const page = second.pages()[0] ?? (await second.newPage());
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.stack || String(err)));
    const english = new Editor({ ...browser, page, context: second });
    await english.open();
    const label = () => paletteLabel(page, 'exotel-send');
    assert.equal(await label(), 'send SMS', 'an English browser starts in English');

    await page.click('#red-ui-header-button-sidemenu');
    await page.click('#menu-item-user-settings');
    const select = page.locator('#user-settings-editor-language');
    await select.waitFor({ state: 'visible' });
    assert.equal(await select.locator('option[value="hi"]').textContent(), 'हिन्दी', 'Hindi is offered, by its name');
    await select.selectOption('hi');
    await page.click('#node-dialog-ok'); // Close: the settings are kept as the tray closes
    await page.waitForFunction(() => localStorage.getItem('editor-language') === 'hi');

    await english.open(); // the reload Node-RED asks for after a change of language
    assert.equal(await label(), send.paletteLabel);
    await english.openNode(ids.send);
    assert.equal((await page.locator('label[for="node-input-to"]').textContent())?.trim(), send.label.to);
    assert.equal((await page.locator('label[for="node-input-account"]').textContent())?.trim(), send.label.account);
    await page.click('#node-dialog-cancel');
    await page.waitForSelector('#dialog-form', { state: 'detached' });
    assert.deepEqual(errors, [], 'no script in the page raised an error');
  });
});
