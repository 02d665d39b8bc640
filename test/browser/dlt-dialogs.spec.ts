// The DLT templates in a real editor (Node-RED child + chromium): the account's list, a DLT
// portal's CSV imported into it (with the rows it could not read), and the send dialog showing the
// chosen template's text and marking a typed text that cannot match it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CHROMIUM, openEditorWithFlows, type FlowsEditor } from '../support/browser';
import type { NodeRedChild } from '../support/node-red-launcher';
const OTP = { id: '1107000000000000001', name: 'OTP', text: 'Your OTP is {#var#}. - ACME', category: 'service-implicit' };
const flows = [
  { id: 'tab', type: 'tab', label: 'dlt' },
  {
    id: 'acc', type: 'exotel-account', version: 3, name: 'Shop', accountSid: '', apiBaseUrl: 'https://api.exotel.com', defaultFrom: '', dltEntityId: '',
    defaultCountry: 'IN', mode: 'sandbox', rateLimit: 200, queueLimit: 10000, webhookAuth: 'token', dltTemplates: [OTP],
  },
  {
    id: 'send', z: 'tab', type: 'exotel-send', version: 3, name: '', account: 'acc', to: 'phone', toType: 'msg', text: 'Your OTP is {{conversation.code}}. - ACME', textType: 'str',
    from: '', dltTemplateId: OTP.id, smsType: '', priority: '', statusCallback: '', optOutConfirmation: false, helpReachesOptedOut: true, attempts: 4, outsideHours: 'hold',
    x: 200, y: 100, wires: [[], []],
  },
];
const CSV = [
  'Template ID,Template Name,Template Type,Template Content',
  '1107000000000000001,OTP,Service Implicit,"Your one-time code is {#var#}. - ACME"',
  '1107000000000000002,Sale,Promotional,"Sale! {#var#} off, today only. - ACME"',
  '1.10716E+18,Broken,Promotional,Hello',
].join('\n');

describe('DLT templates in the editor', function () {
  this.timeout(60_000);
  let red: NodeRedChild;
  let page: import('playwright-core').Page;
  let pageErrors: string[] = [];
  let editor: FlowsEditor | undefined;

  before(async function () {
    this.timeout(120_000);
    if (!fs.existsSync(CHROMIUM)) this.skip();
    editor = await openEditorWithFlows({ flows, label: 'dlt', readyNode: 'send' });
    ({ red, page, pageErrors } = editor);
  });

  after(async function () {
    this.timeout(30_000);
    await editor?.close();
  });

  async function closeDialogs(button: 'cancel' | 'ok'): Promise<void> {
    for (const id of [`#node-config-dialog-${button}`, `#node-dialog-${button}`]) {
      if (await page.locator(id).isVisible()) await page.click(id);
    }
    await page.waitForFunction(() => (window as any).RED.editor.getEditStack().length === 0);
  }

  it('the send dialog shows the registered text, and marks a typed text that cannot match it', async () => {
    await page.evaluate(() => (window as any).RED.editor.edit((window as any).RED.nodes.node('send')));
    await page.waitForSelector('#exotel-send-template', { state: 'visible' });
    assert.equal(await page.locator('#exotel-send-template-text').textContent(), OTP.text);
    assert.match(await page.locator('#exotel-send-template-label').textContent() ?? '', /service implicit/);
    assert.equal(await page.locator('#exotel-send-template-mismatch').isVisible(), false, 'the placeholder may fill the variable');
    await page.evaluate(() => (window as any).$('#node-input-text').typedInput('value', 'Your code is {{conversation.code}}. - ACME').trigger('change'));
    await page.waitForSelector('#exotel-send-template-mismatch', { state: 'visible' });
    assert.match(await page.locator('#exotel-send-template-mismatch').textContent() ?? '', /cannot match DLT template 1107000000000000001: at character 6/);
    await page.fill('#node-input-dltTemplateId', '1107999999999999999');
    await page.waitForSelector('#exotel-send-template-unknown', { state: 'visible' });
    assert.match(await page.locator('#exotel-send-template-unknown').textContent() ?? '', /does not list template 1107999999999999999/);
    assert.equal(await page.locator('#exotel-send-template-known').isVisible(), false);
    await page.fill('#node-input-dltTemplateId', OTP.id);
    await page.waitForSelector('#exotel-send-template-known', { state: 'visible' });
    await closeDialogs('ok');
    // the red triangle: the node is invalid until its text can match
    assert.equal(await page.evaluate(() => (window as any).RED.nodes.node('send').valid), false);
  });

  it('the account dialog lists the templates, imports a DLT portal’s CSV and says which rows it could not read', async () => {
    await page.evaluate(() => (window as any).RED.editor.editConfig('', 'exotel-account', 'acc'));
    await page.waitForSelector('#exotel-account-templates', { state: 'visible' });
    assert.deepEqual(await page.$$eval('.exotel-account-template-id', (inputs) => inputs.map((input) => (input as HTMLInputElement).value)), [OTP.id]);
    await page.setInputFiles('#exotel-account-import-file', { name: 'templates.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await page.waitForSelector('#exotel-account-import-result', { state: 'visible' });
    const result = await page.locator('#exotel-account-import-result').textContent();
    assert.match(result ?? '', /Imported 2 templates \(1 replaced\)/);
    assert.match(result ?? '', /row 4: the template id "1\.10716E\+18" is not a DLT template id/);
    await closeDialogs('ok');
    const saved = await page.evaluate(() => (window as any).RED.nodes.node('acc').dltTemplates);
    assert.deepEqual(saved, [
      { id: OTP.id, name: 'OTP', text: 'Your one-time code is {#var#}. - ACME', category: 'service-implicit' },
      { id: '1107000000000000002', name: 'Sale', text: 'Sale! {#var#} off, today only. - ACME', category: 'promotional' },
    ]);
  });

  it('no script in the page raised an error', () => {
    assert.deepEqual(pageErrors, []);
  });
});
