// The account and SMS in dialogs in a real editor (Node-RED child + chromium): sandbox first, a new
// account's token, a tokenless live account marked, the callback URL read from the runtime, and the
// sandbox tab one click away.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CHROMIUM, openEditorWithFlows, type FlowsEditor } from '../support/browser';
import type { NodeRedChild } from '../support/node-red-launcher';
const TOKEN = 'Rt5Yh8Jk2Lm4Nb6Vc1Xz3Qw7Ea9Sd0Fg';
const account = { apiBaseUrl: 'https://api.exotel.com', dltEntityId: '', defaultCountry: 'IN', rateLimit: 200, queueLimit: 10000 };
const flows = [
  { id: 'tab', type: 'tab', label: 'dialogs' },
  { id: 'acc-live', type: 'exotel-account', version: 2, name: 'Live shop', accountSid: 'shop1', defaultFrom: 'EXSHOP', mode: 'live', webhookAuth: 'token', ...account },
  { id: 'acc-old', type: 'exotel-account', version: 1, name: 'Old shop', accountSid: 'shop2', defaultFrom: 'EXSHOP', mode: 'live', ...account },
  { id: 'acc-sb', type: 'exotel-account', version: 2, name: 'Sandbox shop', accountSid: '', defaultFrom: '', mode: 'sandbox', webhookAuth: 'token', ...account },
  { id: 'in-live', z: 'tab', type: 'exotel-inbound', version: 1, name: '', account: 'acc-live', path: '/exotel/live', allowList: '', x: 150, y: 80, wires: [[]] },
  { id: 'in-sb', z: 'tab', type: 'exotel-inbound', version: 1, name: '', account: 'acc-sb', path: '/exotel/sandbox', allowList: '', x: 150, y: 160, wires: [[]] },
];
const credentials = { 'acc-live': { apiKey: 'k1', apiToken: 't1', webhookToken: TOKEN }, 'acc-old': { apiKey: 'k2', apiToken: 't2' } };

describe('account and SMS in dialogs in a browser', function () {
  this.timeout(60_000);
  let red: NodeRedChild;
  let page: import('playwright-core').Page;
  let pageErrors: string[] = [];
  let editor: FlowsEditor | undefined;

  before(async function () {
    this.timeout(120_000);
    if (!fs.existsSync(CHROMIUM)) this.skip();
    editor = await openEditorWithFlows({ flows, credentials, label: 'dialogs', readyNode: 'in-sb' });
    ({ red, page, pageErrors } = editor);
  });

  after(async function () {
    this.timeout(30_000);
    await editor?.close();
  });

  async function cancel(): Promise<void> {
    for (const button of ['#node-config-dialog-cancel', '#node-dialog-cancel']) {
      if (await page.locator(button).isVisible()) await page.click(button);
    }
    await page.waitForSelector('#dialog-form', { state: 'detached' });
    await page.waitForSelector('#node-config-dialog-edit-form', { state: 'detached' });
    await page.waitForFunction(() => (window as any).RED.editor.getEditStack().length === 0);
  }
  afterEach(cancel);

  /** The account dialog is shown and its oneditprepare has run (it fills the Mode list). */
  async function accountDialogReady(): Promise<void> {
    await page.waitForSelector('#node-config-input-mode', { state: 'visible' });
    await page.waitForFunction(() => (window as any).$('#node-config-input-mode option').length > 0);
  }

  it('the account dialog starts with Mode; a live account saved without a token says to press Generate, and is invalid', async () => {
    await page.evaluate(() => (window as any).RED.editor.editConfig('', 'exotel-account', 'acc-old'));
    await accountDialogReady();
    const order = await page.evaluate(() => {
      const $ = (window as any).$;
      return $('#node-config-dialog-edit-form').find('#node-config-input-mode, #node-config-input-accountSid').map((_i: number, e: HTMLElement) => e.id).get();
    });
    assert.deepEqual(order, ['node-config-input-mode', 'node-config-input-accountSid']);
    await page.waitForSelector('#exotel-account-no-token', { state: 'visible' });
    assert.match(await page.locator('#exotel-account-no-token').textContent() ?? '', /Generate/);
    // the contract's check marks the field as Node-RED marks any invalid one (the red triangle on Done)
    await page.waitForFunction(() => (window as any).$('#node-config-input-webhookAuth').hasClass('input-error'));
    await page.selectOption('#node-config-input-mode', 'sandbox');
    assert.equal(await page.locator('#node-config-input-accountSid').isVisible(), false, 'the SID is hidden in sandbox mode');
    assert.equal(await page.locator('#node-config-input-apiKey').isVisible(), false, 'the keys too');
    assert.equal(await page.locator('#exotel-account-no-token').isVisible(), false);
    await page.selectOption('#node-config-input-mode', 'live');
    await page.click('#exotel-account-generate');
    assert.equal(await page.locator('#exotel-account-no-token').isVisible(), false, 'a generated token is enough');
    await page.waitForFunction(() => !(window as any).$('#node-config-input-webhookAuth').hasClass('input-error'));
    const typed = await page.inputValue('#node-config-input-webhookToken');
    assert.match(typed, /^[A-Za-z0-9]{32}$/);
    await page.fill('#node-config-input-webhookToken', 'too-short');
    await page.waitForSelector('#exotel-account-short-token', { state: 'visible' });
    await page.fill('#node-config-input-defaultFrom', '');
    await page.waitForSelector('#exotel-account-no-sender', { state: 'visible' });
  });

  it('a new account gets a random token of 32 letters and digits; the token field never shows a saved one', async () => {
    await page.evaluate(() => (window as any).RED.editor.editConfig('', 'exotel-account', '_ADD_'));
    await accountDialogReady();
    assert.match(await page.inputValue('#node-config-input-webhookToken'), /^[A-Za-z0-9]{32}$/);
    assert.equal(await page.getAttribute('#node-config-input-webhookToken', 'type'), 'password');
    await cancel();
    await page.evaluate(() => (window as any).RED.editor.editConfig('', 'exotel-account', 'acc-live'));
    await accountDialogReady();
    const shown = await page.inputValue('#node-config-input-webhookToken');
    assert.notEqual(shown, TOKEN);
    assert.equal(shown, '__PWRD__');
  });

  it('a live account without a public URL says that delivery reports are missed; a bad one is marked red', async () => {
    await page.evaluate(() => (window as any).RED.editor.editConfig('', 'exotel-account', 'acc-live'));
    await accountDialogReady();
    await page.waitForSelector('#exotel-account-no-public-url', { state: 'visible' });
    assert.match(await page.locator('#exotel-account-no-public-url').textContent() ?? '', /delivery report/);
    await page.fill('#node-config-input-publicUrl', 'sms.example.in');
    await page.locator('#node-config-input-publicUrl').dispatchEvent('change');
    await page.waitForFunction(() => (window as any).$('#node-config-input-publicUrl').hasClass('input-error'));
    assert.equal(await page.locator('#exotel-account-no-public-url').isVisible(), false);
    await page.fill('#node-config-input-publicUrl', 'https://sms.example.in');
    await page.locator('#node-config-input-publicUrl').dispatchEvent('change');
    await page.waitForFunction(() => !(window as any).$('#node-config-input-publicUrl').hasClass('input-error'));
    await page.selectOption('#node-config-input-mode', 'sandbox');
    assert.equal(await page.locator('#node-config-input-publicUrl').isVisible(), false, 'a sandbox account makes its reports up');
  });

  it('SMS in with a live account shows the callback URL the runtime builds, token included', async () => {
    await page.evaluate(() => (window as any).RED.editor.edit((window as any).RED.nodes.node('in-live')));
    await page.waitForFunction((token) => ((window as any).$('#exotel-inbound-url').val() || '').endsWith(`/exotel/live?token=${token}`), TOKEN);
    const url = await page.inputValue('#exotel-inbound-url');
    assert.equal(url, `${red.baseUrl}/exotel/live?token=${TOKEN}`);
    assert.equal(await page.locator('#exotel-inbound-sandbox').isVisible(), false);
    assert.equal(await page.locator('#node-input-allowList').isVisible(), true);
  });

  it('SMS in with a sandbox account: one line, the Exotel details folded away, and Open shows the SMS sandbox tab', async () => {
    await page.evaluate(() => (window as any).RED.editor.edit((window as any).RED.nodes.node('in-sb')));
    await page.waitForSelector('#exotel-inbound-sandbox', { state: 'visible' });
    assert.match(await page.locator('#exotel-inbound-sandbox').textContent() ?? '', /nothing to set up in Exotel/);
    assert.equal(await page.locator('#exotel-inbound-details').isVisible(), false);
    await page.click('#exotel-inbound-details-toggle');
    assert.equal(await page.locator('#exotel-inbound-details').isVisible(), true, 'the details open on demand');
    await page.click('#exotel-inbound-open-sandbox');
    await page.waitForSelector('#exotel-sandbox', { state: 'visible' });
  });

  it('no script in the page raised an error', () => {
    assert.deepEqual(pageErrors, []);
  });
});
