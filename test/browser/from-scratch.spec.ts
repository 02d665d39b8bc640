// Issue 15, the way it was found: a newcomer builds the opt-in / opt-out scenario from an empty tab
// through the UI alone (drag from the palette, double-click, type, wire, deploy; no example imported),
// then holds the conversation in the SMS sandbox phone, where a send that was blocked shows as a red
// bubble with its cause, what to do, and the node that tried.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, Editor, Phone, reportFailure, ROOT, startBrowserEditor, type BrowserEditor } from '../support/browser';

const CUSTOMER = '+919876543210';
const TEXT = {
  subscribed: 'You are subscribed to ExampleShop updates. Reply STOP to unsubscribe.',
  unsubscribed: 'You are unsubscribed from ExampleShop and will get no more messages. Reply START to subscribe again.',
  help: 'ExampleShop: reply START to subscribe, STOP to unsubscribe.',
};
const catalogue = JSON.parse(fs.readFileSync(path.join(ROOT, 'plugins', 'locales', 'en-US', 'exotel-sms.json'), 'utf8'))['exotel-sms'];

describe('building the opt-in / opt-out flow from an empty tab, and talking to it in the sandbox phone', function () {
  this.timeout(60_000);
  let browser: BrowserEditor;
  let editor: Editor;
  let phone: Phone;
  const ids: Record<string, string> = {};

  before(async function () {
    this.timeout(150_000);
    browser = await startBrowserEditor();
    editor = new Editor(browser);
    phone = new Phone(browser.page);
  });

  afterEach(async function () {
    await reportFailure(browser, this.currentTest, 'from-scratch');
  });

  after(async function () {
    this.timeout(30_000);
    if (browser) await browser.close();
  });

  /** A send SMS node with a typed text, through its dialog: the only account is chosen already, and Text is typed text. */
  async function addSend(key: string, name: string, text: string, at: [number, number], helpReachesOptedOut = true) {
    const page = browser.page;
    ids[key] = await editor.dragFromPalette('exotel-send', at[0], at[1]);
    await editor.openNode(ids[key]);
    assert.equal(await page.locator('#node-input-account option:checked').textContent(), 'My shop (sandbox)', 'the only account is not preselected');
    assert.equal(await page.inputValue('#node-input-textType'), 'str', 'a new node\'s Text is not typed text');
    await editor.fillTyped('#node-input-text', text);
    assert.equal(await page.isChecked('#node-input-optOutConfirmation'), false);
    if (!helpReachesOptedOut) await page.uncheck('#node-input-helpReachesOptedOut');
    await page.fill('#node-input-name', name);
    await editor.closeDialog();
  }

  async function addOptOutStore(key: string, name: string, action: 'optin' | 'optout', at: [number, number]) {
    ids[key] = await editor.dragFromPalette('opt-out-store', at[0], at[1]);
    await editor.openNode(ids[key]);
    await browser.page.selectOption('#node-input-action', action);
    await browser.page.fill('#node-input-name', name);
    await editor.closeDialog();
  }

  it('builds the flow through the UI and deploys it, with no red triangle', async function () {
    const page = browser.page;
    assert.equal((await editor.nodeIds('exotel-inbound')).length, 0, 'the workspace is not empty');

    // SMS in, with a new sandbox account made from its dialog
    ids.inbound = await editor.dragFromPalette('exotel-inbound', 120, 220);
    await editor.openNode(ids.inbound);
    await page.click('#node-input-btn-account-add');
    await page.waitForSelector('#node-config-input-mode', { state: 'visible' });
    await page.selectOption('#node-config-input-mode', 'sandbox');
    await page.fill('#node-config-input-name', 'My shop (sandbox)');
    // nothing else: a sandbox account needs no sender, SID or keys
    await page.click('#node-config-dialog-ok');
    await page.waitForSelector('#node-config-input-mode', { state: 'detached' });
    if (!(await page.inputValue('#node-input-path'))) await page.fill('#node-input-path', '/exotel/sms');
    await editor.closeDialog();

    // keyword switch, from its opt-in / opt-out preset: START…, STOP…, HELP…, otherwise
    ids.keywords = await editor.dragFromPalette('keyword-switch', 330, 220);
    await editor.openNode(ids.keywords);
    // one step: choosing the preset fills in its rules
    await page.selectOption('#keyword-switch-preset', 'optInOut');
    await page.waitForFunction(() => document.querySelectorAll('#node-input-rule-container > li').length === 3);
    await page.fill('#node-input-name', 'Opt-in keywords');
    await editor.closeDialog();

    await addOptOutStore('optIn', 'Opt in', 'optin', [540, 120]);
    await addOptOutStore('optOut', 'Opt out', 'optout', [540, 220]);
    await addSend('subscribed', 'Subscribed', TEXT.subscribed, [780, 120]);
    // the confirmation after Opt out needs no tick: the fresh opt-out on msg.optOut lets the one confirmation through
    await addSend('unsubscribed', 'Unsubscribed', TEXT.unsubscribed, [780, 220]);
    // this shop chooses not to answer HELP from numbers that opted out (the option is on by default)
    await addSend('help', 'Help', TEXT.help, [780, 320], false);

    await editor.wire(ids.inbound, 0, ids.keywords);
    await editor.wire(ids.keywords, 0, ids.optIn);
    await editor.wire(ids.keywords, 1, ids.optOut);
    await editor.wire(ids.keywords, 2, ids.help);
    await editor.wire(ids.optIn, 0, ids.subscribed);
    await editor.wire(ids.optOut, 0, ids.unsubscribed);

    assert.deepEqual(await editor.invalidNodes(), []);
    assert.equal(await page.locator('#red-ui-workspace-chart .red-ui-flow-node-error:visible').count(), 0, 'red triangles on show');
    await editor.deploy();
    assert.deepEqual(await editor.invalidNodes(), []);
  });

  it('holds the conversation in the phone: STOP is confirmed, HELP after it is blocked with its cause, START subscribes again', async function () {
    assert.ok(ids.help, 'the flow was not built');
    const page = browser.page;
    // the first deploy of a sandbox account offers the phone: the newcomer's way in
    const offer = page.locator('#exotel-sandbox-hint-open');
    if (await offer.isVisible()) await offer.click();
    else await editor.openPhone();
    await page.waitForSelector('#exotel-sandbox-phone-view', { state: 'visible' });
    await page.fill('#exotel-sandbox-phone', CUSTOMER);
    await page.press('#exotel-sandbox-phone', 'Enter');

    await phone.reply('STOP');
    await phone.expect(TEXT.unsubscribed);

    // HELP from an opted-out number: the flow tries, the opt-out guard blocks it, the phone says so
    await phone.reply('HELP');
    const blocked = await phone.expect(TEXT.help);
    assert.equal(await blocked.getAttribute('data-status'), 'failed');
    assert.ok(await blocked.evaluate((el) => el.classList.contains('exotel-sandbox-failed')), 'the bubble is not marked failed');
    const red = await blocked.evaluate((el) => getComputedStyle(el).backgroundColor);
    const [r, g, b] = (red.match(/\d+/g) ?? []).map(Number);
    assert.ok(r > g + 20 && r > b + 20, `the bubble is not red: ${red}`);
    assert.equal(await blocked.locator('.exotel-sandbox-cause').textContent(), `Not sent: ${catalogue.causes.opted_out.cause}`);
    assert.equal(await blocked.locator('.exotel-sandbox-fix').textContent(), catalogue.causes.opted_out.fix);
    assert.equal(await blocked.locator('.exotel-sandbox-status').textContent(), 'not sent');
    // the node that tried, by its name; a click shows it on the canvas
    const link = blocked.locator('.exotel-sandbox-node');
    assert.equal(await link.textContent(), 'Help');
    await page.evaluate(() => (window as unknown as { RED: { view: { select(ids: string[] | string): void } } }).RED.view.select([]));
    await link.click();
    await page.waitForFunction((id) => (window as unknown as { RED: { view: { selection(): { nodes?: Array<{ id: string }> } } } }).RED.view.selection().nodes?.some((n) => n.id === id), ids.help);

    // a picture of the red bubble, for a reviewer (test/artifacts is not committed)
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await blocked.scrollIntoViewIfNeeded();
    await page.locator('#exotel-sandbox').screenshot({ path: path.join(ARTIFACTS, 'sandbox-not-sent.png') });

    await phone.reply('START');
    await phone.expect(TEXT.subscribed);
    await phone.reply('HELP');
    const answered = await phone.expect(TEXT.help);
    assert.equal(await answered.getAttribute('data-status'), 'sent');

    assert.deepEqual(await phone.texts(), [
      'in received: STOP',
      `out sent: ${TEXT.unsubscribed}`,
      'in received: HELP',
      `out failed: ${TEXT.help}`,
      'in received: START',
      `out sent: ${TEXT.subscribed}`,
      'in received: HELP',
      `out sent: ${TEXT.help}`,
    ]);
    // and it survives a reload of the editor: the thread is in the store, with its cause
    await editor.open();
    await editor.openPhone();
    const again = await phone.expect(TEXT.help);
    assert.equal(await phone.bubbles().locator('.exotel-sandbox-cause').count(), 1);
    // sent, and by now (or in a moment) delivered: the sandbox's delivery report follows each send
    await again.and(page.locator('[data-status="delivered"]')).waitFor({ timeout: 10_000 });
  });

  it('no script in the page raised an error', function () {
    assert.deepEqual(browser.pageErrors, []);
  });
});
