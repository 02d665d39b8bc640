// The SMS tab as an operator meets it (issue 13): after a sandbox conversation in which the customer
// replied STOP, the tab shows the opt-out, the inbound SMS in the log and the conversation still
// active; a forged callback the live account's SMS in node refused shows as rejected with why; the
// opt-out CSV downloads and holds the number; a send that failed (a live account on a mock Exotel that
// answered 500) is sent again from the outbox; a customer's data is exported and erased, their opt-out kept. Screenshots of the tab for the README go to docs/images/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Locator } from 'playwright-core';
import { Editor, Phone, reportFailure, ROOT, startBrowserEditor, wait, type BrowserEditor } from '../support/browser';
import { MockExotel } from '../support/mock-exotel';

const CUSTOMER = '+919876543210';
const OTHER = '+919812345678';
const FORGER = '+919800000001';
const WEBHOOK_TOKEN = 'Zk3v9QpL2mX8wR4tY7bN1cH6dJ5sF0gA';
const IMAGES = path.join(ROOT, 'docs', 'images');
const UNSUBSCRIBED = 'You have been unsubscribed from ExampleStore and will get no more messages. Reply START to subscribe again.';
const SURVEY = 'How was your experience? Reply 1 for Great, 2 for Good, 3 for Poor.';
const catalogue = JSON.parse(fs.readFileSync(path.join(ROOT, 'plugins', 'locales', 'en-US', 'exotel-sms.json'), 'utf8'))['exotel-sms'];

describe("the SMS tab: the operators' view", function () {
  this.timeout(60_000);
  let browser: BrowserEditor;
  let editor: Editor;
  let phone: Phone;
  let mock: MockExotel;

  before(async function () {
    this.timeout(150_000);
    mock = await new MockExotel().start();
    browser = await startBrowserEditor();
    editor = new Editor(browser);
    phone = new Phone(browser.page);
    // example 06 on the sandbox account, and a live account on the mock Exotel with a send node that tries once
    const example = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', '06 - All scenarios on one number.json'), 'utf8')) as Array<Record<string, unknown>>;
    const live = [
      { id: 'live-account', type: 'exotel-account', name: 'Shop (live)', accountSid: 'shopsid', apiBaseUrl: mock.url, defaultFrom: 'EXSHOP', dltEntityId: '', defaultCountry: 'IN', mode: 'live', rateLimit: 200, queueLimit: 10000, webhookAuth: 'token', credentials: { apiKey: 'key-1', apiToken: 'token-1', webhookToken: WEBHOOK_TOKEN } },
      { id: 'live-in', type: 'exotel-inbound', z: 'all-tab', name: 'Replies (live)', account: 'live-account', path: '/exotel/live-sms', allowList: '', x: 150, y: 960, wires: [[]] },
      { id: 'live-inject', type: 'inject', z: 'all-tab', name: 'Order update', props: [{ p: 'phone', v: OTHER, vt: 'str' }, { p: 'payload', v: 'Your order has shipped.', vt: 'str' }], x: 150, y: 900, wires: [['live-send']] },
      { id: 'live-send', type: 'exotel-send', z: 'all-tab', name: 'Order update (live)', account: 'live-account', to: 'phone', toType: 'msg', text: 'payload', textType: 'msg', from: '', dltTemplateId: '', smsType: '', priority: '', statusCallback: '', optOutConfirmation: false, attempts: 1, x: 400, y: 900, wires: [[], []] },
    ];
    const res = await fetch(`${browser.base}/flows`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify([...example, ...live]) });
    assert.ok(res.ok, `POST /flows answered ${res.status} ${await res.text()}`);
    await editor.open();
  });

  afterEach(async function () {
    await reportFailure(browser, this.currentTest, 'sms-tab');
  });

  after(async function () {
    this.timeout(30_000);
    if (browser) await browser.close();
    await mock?.stop();
  });

  const inject = async (id: string) => {
    const res = await fetch(`${browser.base}/inject/${id}`, { method: 'POST' });
    assert.equal(res.status, 200, `inject ${id}`);
  };

  /** The rows of a section's list, waited for until one matches. */
  async function row(list: string, selector: string): Promise<Locator> {
    const found = browser.page.locator(`#${list} ${selector}`).first();
    try {
      await found.waitFor({ state: 'visible', timeout: 10_000 });
    } catch {
      throw new Error(`#${list} shows no ${selector}; it shows: ${(await browser.page.locator(`#${list}`).innerText()).replace(/\s+/g, ' ')}`);
    }
    return found;
  }

  async function screenshot(name: string) {
    fs.mkdirSync(IMAGES, { recursive: true });
    await browser.page.locator('#red-ui-sidebar').screenshot({ path: path.join(IMAGES, name) });
  }

  it('after a sandbox conversation with a STOP, shows the opt-out, the inbound SMS in the log and the conversation still active', async function () {
    const page = browser.page;
    // the survey starts a conversation with the customer; the customer answers STOP
    await inject('all-send-survey');
    await editor.openPhone();
    await page.selectOption('#exotel-sandbox-account', 'all-account');
    await page.fill('#exotel-sandbox-phone', CUSTOMER);
    await page.press('#exotel-sandbox-phone', 'Enter');
    await phone.expect(SURVEY);
    await phone.reply('STOP');
    await phone.expect(UNSUBSCRIBED);

    await editor.openSmsSection('log');
    const stop = await row('exotel-sms-log-list', `.exotel-sms-log-line[data-direction="in"]:has(.exotel-sms-body:text-is("STOP"))`);
    assert.equal(await stop.locator('.exotel-sms-phone').textContent(), CUSTOMER);
    assert.equal(await stop.locator('.exotel-sms-badge').textContent(), catalogue.state.received);
    assert.match(String(await stop.locator('.exotel-sms-meta').textContent()), /ExampleStore \(sandbox\)/, 'the account by its name');
    // what the flow sent, with the sandbox's delivery report, and by which node
    const confirmation = await row('exotel-sms-log-list', `.exotel-sms-log-line[data-direction="out"]:has(.exotel-sms-body:text-is("${UNSUBSCRIBED}"))`);
    await page.waitForFunction((body) => Array.from(document.querySelectorAll('#exotel-sms-log-list .exotel-sms-log-line[data-direction="out"]'))
      .some((line) => line.querySelector('.exotel-sms-body')?.textContent === body && line.getAttribute('data-status') === 'delivered'), UNSUBSCRIBED, { timeout: 10_000 });
    assert.equal(await confirmation.locator('.exotel-sms-badge').textContent(), catalogue.state.delivered);
    assert.equal(await confirmation.locator('.exotel-sms-node').textContent(), 'Unsubscribed (opt-out confirmation)');
    const order = await page.locator('#exotel-sms-log-list .exotel-sms-log-line').evaluateAll((lines) => lines.map((l) => `${(l as HTMLElement).dataset.direction} ${l.querySelector('.exotel-sms-body')?.textContent}`));
    assert.deepEqual(order, [`out ${UNSUBSCRIBED}`, 'in STOP', `out ${SURVEY}`], 'newest first');
    await screenshot('sms-tab-log.png');

    await editor.openSmsSection('optOuts');
    const optedOut = await row('exotel-sms-opt-outs-list', `.exotel-sms-opt-out[data-phone="${CUSTOMER}"]`);
    assert.equal(await optedOut.getAttribute('data-status'), 'opted-out');
    assert.match(String(await optedOut.locator('.exotel-sms-meta').textContent()), /Keyword STOP · source sandbox-in-/, 'the keyword and the SmsSid it came in');
    await optedOut.locator('.exotel-sms-expand').click();
    await optedOut.locator('.exotel-sms-history-line').first().waitFor();
    assert.match(String(await optedOut.locator('.exotel-sms-history-line').first().textContent()), /opted out keyword STOP · source sandbox-in-/);
    await screenshot('sms-tab-opt-outs.png');

    await editor.openSmsSection('conversations');
    const survey = await row('exotel-sms-conversations-list', `.exotel-sms-conversation[data-key="${CUSTOMER}"]`);
    assert.equal(await survey.getAttribute('data-name'), 'one-number-survey');
    assert.equal(await survey.locator('.exotel-sms-badge-step').textContent(), 'answer');
    assert.match(String(await survey.locator('.exotel-sms-meta').textContent()), /started \d+ s ago · /);

    await editor.openSmsSection('glance');
    await page.locator('#exotel-sms-glance-opted-out').waitFor();
    assert.equal(await page.locator('#exotel-sms-glance-opted-out .exotel-sms-tile-value').textContent(), '1');
    assert.equal(await page.locator('#exotel-sms-glance-received .exotel-sms-tile-value').textContent(), '1');
    assert.equal(await page.locator('#exotel-sms-glance-sent .exotel-sms-tile-value').textContent(), '2');
    assert.equal(await page.locator('#exotel-sms-glance-delivered .exotel-sms-tile-value').textContent(), '2');
    assert.equal(await page.locator('#exotel-sms-glance-conversations .exotel-sms-tile-value').textContent(), '1');
    assert.equal(await page.locator('#exotel-sms-glance rect.exotel-sms-chart-received').count(), 1, 'one bar of received SMS in the chart');
  });

  it('refreshes without a reload: a new SMS appears in the open log', async function () {
    await editor.openSmsSection('log');
    await row('exotel-sms-log-list', '.exotel-sms-log-line');
    // the customer writes again, from the API (the phone is out of sight)
    const res = await fetch(`${browser.base}/exotel-sandbox/all-account/reply`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone: CUSTOMER, text: 'Hello again' }) });
    assert.equal(res.status, 200);
    await row('exotel-sms-log-list', '.exotel-sms-log-line:has(.exotel-sms-body:text-is("Hello again"))');
  });

  it('shows a forged callback the live SMS in node refused as rejected, with why and what to do, on the sender\'s page too', async function () {
    const page = browser.page;
    const forged = new URLSearchParams({ SmsSid: 'forged-1', From: FORGER, To: '08047123456', Body: 'Free gift! Reply YES' });
    const res = await fetch(`${browser.base}/exotel/live-sms?token=not-the-token-0123456789`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: forged.toString() });
    assert.equal(res.status, 401);
    await editor.openSmsSection('log');
    const line = await row('exotel-sms-log-list', `.exotel-sms-log-line[data-status="rejected"]:has(.exotel-sms-phone[data-phone="${FORGER}"])`);
    assert.equal(await line.getAttribute('data-direction'), 'in');
    assert.equal(await line.locator('.exotel-sms-badge').textContent(), catalogue.state.rejected);
    assert.equal(await line.locator('.exotel-sms-body').textContent(), 'Free gift! Reply YES');
    assert.equal(await line.locator('.exotel-sms-reason').textContent(), catalogue.refusals.bad_token, 'why, and what to do');
    assert.match(String(await line.locator('.exotel-sms-meta').textContent()), /^Shop \(live\) · from \S*127\.0\.0\.1 · forged-1$/);
    assert.ok(!(await page.locator('#exotel-sms-log').innerText()).includes('not-the-token'), 'never the token');
    await line.locator('.exotel-sms-phone').click();
    await page.waitForSelector('#exotel-sms-customer', { state: 'visible' });
    const theirs = await row('exotel-sms-thread-list', '.exotel-sms-log-line');
    assert.equal(await theirs.getAttribute('data-status'), 'rejected');
    await page.click('#exotel-sms-customer-back');
  });

  it('downloads the opt-out list as a CSV that holds the number', async function () {
    const page = browser.page;
    await editor.openSmsSection('optOuts');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#exotel-sms-opt-outs-export')]);
    assert.match(download.suggestedFilename(), /^opt-outs-\d{4}-\d\d-\d\d\.csv$/);
    const csv = fs.readFileSync(String(await download.path()), 'utf8');
    const lines = csv.trim().split(/\r\n/);
    assert.equal(lines[0], 'phone,status,keyword,source,changed_at');
    assert.match(lines.find((line) => line.startsWith(CUSTOMER)) ?? '', new RegExp(`^\\${CUSTOMER},opted-out,STOP,sandbox-in-[^,]+,\\d{4}-`));
  });

  it('sends a failed send of the outbox again', async function () {
    const page = browser.page;
    mock.answer({ status: 500 });
    const before = mock.requests.length;
    await inject('live-inject');
    await editor.openSmsSection('outbox');
    let failed = await row('exotel-sms-outbox-list', '.exotel-sms-outbox-entry[data-state="failed"]');
    assert.equal(await failed.locator('.exotel-sms-phone').textContent(), OTHER);
    assert.equal(await failed.locator('.exotel-sms-body').textContent(), 'Your order has shipped.');
    assert.match(String(await failed.locator('.exotel-sms-reason').textContent()), new RegExp(catalogue.causes.server_error.cause.replace(/[.]/g, '\\.')));
    assert.equal(mock.requests.length, before + 1);
    await screenshot('sms-tab-outbox.png');
    // the log says it failed, and why
    await editor.openSmsSection('log');
    const logged = await row('exotel-sms-log-list', `.exotel-sms-log-line[data-direction="out"]:has(.exotel-sms-phone[data-phone="${OTHER}"])`);
    assert.equal(await logged.getAttribute('data-status'), 'failed');
    assert.match(String(await logged.locator('.exotel-sms-reason').textContent()), new RegExp(catalogue.causes.server_error.cause.replace(/[.]/g, '\\.')));
    await editor.openSmsSection('outbox');
    failed = await row('exotel-sms-outbox-list', '.exotel-sms-outbox-entry[data-state="failed"]');
    await failed.locator('.exotel-sms-retry').click();
    await page.waitForSelector('#exotel-sms-outbox-list .exotel-sms-outbox-entry', { state: 'detached', timeout: 10_000 });
    for (let i = 0; i < 50 && mock.sent.length === 0; i++) await wait(100);
    assert.deepEqual(mock.sent.map((form) => [form.To, form.Body]), [[OTHER, 'Your order has shipped.']], 'Exotel got it the second time');
    await editor.openSmsSection('log');
    await row('exotel-sms-log-list', `.exotel-sms-log-line[data-direction="out"][data-status="sent"]:has(.exotel-sms-phone[data-phone="${OTHER}"])`);
  });

  it("exports a customer's data and erases it, keeping the opt-out", async function () {
    const page = browser.page;
    await editor.openSmsSection('log');
    await (await row('exotel-sms-log-list', `.exotel-sms-phone[data-phone="${CUSTOMER}"]`)).click();
    await page.waitForSelector('#exotel-sms-customer', { state: 'visible' });
    assert.equal(await page.locator('#exotel-sms-customer-phone').textContent(), CUSTOMER);
    await row('exotel-sms-thread-list', '.exotel-sms-log-line');
    await page.waitForSelector('#exotel-sms-customer-status .exotel-sms-badge-opted-out');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#exotel-sms-customer-export')]);
    const data = JSON.parse(fs.readFileSync(String(await download.path()), 'utf8'));
    assert.equal(data.phone, CUSTOMER);
    assert.deepEqual(data.inbound.map((sms: { body: string }) => sms.body), ['STOP', 'Hello again']);
    assert.equal(data.optOut.status, 'opted-out');
    assert.ok(data.sent.some((sms: { body: string; delivery: string }) => sms.body === UNSUBSCRIBED && sms.delivery === 'delivered'), 'what was sent to them, with its report');
    await page.click('#exotel-sms-customer-erase');
    await page.click('#exotel-sms-confirm');
    await page.waitForSelector('#exotel-sms-thread-list .exotel-sms-empty');
    const after = await (await fetch(`${browser.base}/exotel-sms/opt-outs/history?phone=${encodeURIComponent(CUSTOMER)}`)).json() as { record: { status: string } };
    assert.equal(after.record.status, 'opted-out', 'the opt-out stays');
    const conversations = await (await fetch(`${browser.base}/exotel-sms/conversations`)).json() as { items: unknown[] };
    assert.deepEqual(conversations.items, [], 'the conversation is gone with the rest');
  });

  it('charts a day of traffic per hour (the picture in the README)', async function () {
    const page = browser.page;
    // the last day's SMS, written into the runtime's store as its nodes would have (the store is shared, WAL)
    const db = new Database(path.join(browser.red.userDir, 'exotel-sms.db'));
    const hour = 3_600_000;
    // the hours of the chart are the browser's (India's: half an hour off UTC's)
    const thisHour = await page.evaluate(() => {
      const now = new Date();
      return new Date(now.getFullYear(), now.getMonth(), now.getDate(), now.getHours()).getTime();
    });
    const curve = (h: number) => Math.round(6 + 14 * Math.max(0, Math.sin(((h - 6) / 24) * 2 * Math.PI)));
    const inbound = db.prepare("INSERT INTO inbound (sid, endpoint, from_number, to_number, body, received_at, account_sid, recorded_at, handled) VALUES (?, '/exotel/sms', ?, '+918000000000', 'YES', '', '', ?, 1)");
    const sent = db.prepare("INSERT INTO send_log (custom_field, sid, node_id, account, phone, body, template_id, message, state, delivery, created_at, updated_at) VALUES (?, ?, 'all-thanks-1', 'all-account', ?, 'Thank you!', NULL, '{}', ?, ?, ?, ?)");
    let n = 0;
    db.transaction(() => {
      for (let back = 23; back >= 1; back--) {
        const start = thisHour - back * hour;
        const h = new Date(start + 5.5 * hour).getUTCHours(); // the hour in India, where the browser is
        for (let i = 0; i < curve(h); i++, n++) {
          const at = start + ((i * 97_001) % hour);
          inbound.run(`chart-in-${n}`, `+91981000${String(n % 1000).padStart(4, '0')}`, at);
          const failed = i % 9 === 4;
          sent.run(`chart-cf-${n}`, `chart-out-${n}`, `+91981000${String(n % 1000).padStart(4, '0')}`, failed ? 'failed' : 'sent', failed ? null : i % 5 === 0 ? 'pending' : 'delivered', at + 500, at + 500);
        }
      }
    })();
    db.close();
    await editor.openSmsSection('glance');
    await page.waitForFunction(() => document.querySelectorAll('#exotel-sms-glance rect.exotel-sms-chart-received').length >= 23, null, { timeout: 10_000 });
    assert.ok(await page.locator('#exotel-sms-glance rect.exotel-sms-chart-failed').count() >= 10, 'the failed sends have their bars');
    await screenshot('sms-tab-glance.png');
  });

  it('no script in the page raised an error', function () {
    assert.deepEqual(browser.pageErrors, []);
  });
});
