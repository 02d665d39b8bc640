// exotel-account's delivery reports, without Node-RED: the status callback its sends carry, and the
// sandbox's made-up reports.
import assert from 'node:assert/strict';
import { AccountController } from '../../src/nodes/exotel-account/controller';
import { reportUrl, validatePublicUrl } from '../../src/nodes/exotel-account/contract';
import { acquireStore, type ReportRecord, type SandboxMessage } from '../../src/store';
import { FakeGateway, translate, until } from './fakes';

const TOKEN = 'hook-9-long-enough-0123';
const noStore = () => assert.fail('no store to open');

describe('exotel-account: delivery reports', () => {
  function live(publicUrl: string | undefined, httpNodeRoot?: unknown, openReportStore?: () => ReturnType<typeof acquireStore>) {
    return new AccountController({ accountSid: 'acct1', defaultFrom: 'EXSHOP', publicUrl }, { apiKey: 'key-1234', apiToken: 'token-5678', webhookToken: TOKEN }, {
      id: 'acc.1', translate, warn: () => undefined, openSandboxStore: noStore, publishSandboxMessage: () => undefined, createClient: () => new FakeGateway(),
      httpNodeRoot, openReportStore,
    });
  }

  it('gives a live account with a public URL a status callback under httpNodeRoot, with its webhook token', async () => {
    const handle = acquireStore(':memory:');
    const account = live(' https://sms.example.in/ ', '/hooks/', () => handle);
    assert.equal(account.statusCallbackUrl, `https://sms.example.in/hooks/exotel-sms/delivery-report/acc.1?token=${TOKEN}`);
    assert.equal(account.reportsEnabled, true);
    assert.ok(account.reports, 'it receives reports');
    await account.close();
  });

  it('gives none without a public URL, or with HTTP endpoints switched off: no reports', async () => {
    for (const account of [live(''), live(undefined), live('https://sms.example.in', false)]) {
      assert.deepEqual([account.statusCallbackUrl, account.reportsEnabled, account.reports], [null, false, null]);
      await account.close();
    }
  });

  it('builds the URL from the public URL, the node root and the account, and checks the public URL', () => {
    assert.equal(reportUrl('https://a.in/nodered', undefined, 'x', ''), 'https://a.in/nodered/exotel-sms/delivery-report/x');
    assert.equal(reportUrl('https://a.in', 'api', 'x y', '?token=t'), 'https://a.in/api/exotel-sms/delivery-report/x%20y?token=t');
    assert.equal(reportUrl('ftp://a.in', '/', 'x', ''), null);
    assert.deepEqual(['', 'https://sms.example.in', 'http://10.0.0.5:1880/red'].map(validatePublicUrl), [true, true, true]);
    assert.deepEqual(['sms.example.in', 'https://a.in/?x=1', 'https://a.in/#top'].map(validatePublicUrl), [
      { key: 'errors.publicUrl' }, { key: 'errors.publicUrl' }, { key: 'errors.publicUrl' },
    ]);
  });

  describe('in the sandbox', () => {
    async function sandboxSend(to: string) {
      const handle = acquireStore(':memory:');
      const published: SandboxMessage[] = [];
      const handed: ReportRecord[] = [];
      const account = new AccountController({ mode: 'sandbox' }, {}, {
        id: 'acc', translate, warn: (w) => assert.fail(w), openSandboxStore: () => handle, publishSandboxMessage: (m) => published.push(m),
        handOnReport: (nodeId, record) => handed.push(record), sandboxReportDelayMs: 20,
      });
      assert.deepEqual([account.reportsEnabled, account.statusCallbackUrl], [true, null]);
      await handle.store.logSendStart({ customField: 'cf-1', nodeId: 'send-1', account: 'acc', phone: to, body: 'hello', templateId: null, message: { payload: 'hello' } });
      const result = await account.client!.send({ from: 'SHOP', to, body: 'hello', encoding: 'plain', customField: 'cf-1' });
      await handle.store.logSendAccepted('cf-1', result.sid, result.status, 1);
      assert.equal(handed.length, 0, 'not at once');
      await until(() => published.length === 2);
      await account.close();
      return { handed, published, result };
    }

    it('reports a sandbox SMS delivered about a second later, and shows it in the phone', async () => {
      const { handed, published, result } = await sandboxSend('+919876543210');
      assert.deepEqual(handed.map((r) => [r.report.sid, r.report.status, r.report.delivery, r.report.detailedStatusCode, r.entry?.nodeId, r.entry?.delivery]), [
        [result.sid, 'sent', 'delivered', '20005', 'send-1', 'delivered'],
      ]);
      assert.deepEqual(published.map((m) => [m.id, m.status]), [[published[0].id, 'sent'], [published[0].id, 'delivered']]);
    });

    it('does not deliver to the sandbox\'s failing numbers: DND, an unavailable number, a DLT template mismatch', async () => {
      const outcomes: string[][] = [];
      for (const phone of ['+919000000001', '+919000000002', '+919000000003']) {
        const { handed, published } = await sandboxSend(phone);
        outcomes.push([handed[0].report.status, handed[0].report.detailedStatusCode, published[1].status, published[1].detail ?? '']);
      }
      assert.deepEqual(outcomes.map(([status, code, shown]) => [status, code, shown]), [['failed_dnd', '23005', 'undelivered'], ['failed', '24120', 'undelivered'], ['failed', '23185', 'undelivered']]);
      assert.match(outcomes[0][3], /Do Not Disturb/);
      assert.match(outcomes[2][3], /does not match its registered DLT template/);
    });
  });
});
