// The contracts' side of DLT templates and TRAI's hours: exotel-account version 3 (its templates),
// exotel-send version 3 (what a promotional send does outside the hours), and the checks the
// editor shows before deploy.
import assert from 'node:assert/strict';
import { defaultValues, migrate } from '../../src/nodes/contract';
import * as account from '../../src/nodes/exotel-account/contract';
import * as send from '../../src/nodes/exotel-send/contract';
import type { DltTemplate } from '../../src/sms/dlt';

const OTP: DltTemplate = { id: '1107000000000000001', name: 'OTP', text: 'Your OTP is {#var#}. - ACME', category: 'service-implicit' };

describe('exotel-account contract, version 3: DLT templates', () => {
  it('a new account lists none; one saved before gets none, and one saved with a list keeps it', () => {
    assert.deepEqual(defaultValues(account.contract).dltTemplates, []);
    assert.deepEqual(migrate(account.contract, { version: 2, webhookAuth: 'token' }).dltTemplates, []);
    assert.deepEqual(migrate(account.contract, { version: 2, dltTemplates: 'nonsense' }).dltTemplates, []);
    assert.deepEqual(migrate(account.contract, { version: 2, dltTemplates: [OTP] }).dltTemplates, [OTP]);
    assert.equal(migrate(account.contract, {}).webhookAuth, 'token', 'the earlier migrations still apply');
  });

  it('checks the list row by row: an id of letters and digits, once; a text; a category', () => {
    assert.equal(account.validateDltTemplates(undefined), true, 'saved before version 3');
    assert.equal(account.validateDltTemplates([]), true);
    assert.equal(account.validateDltTemplates([OTP, { ...OTP, id: '2', category: 'promotional' }]), true);
    assert.deepEqual(account.validateDltTemplates('x'), { key: 'errors.dltTemplates' });
    assert.deepEqual(account.validateDltTemplates([OTP, { ...OTP, id: ' ' }]), { key: 'errors.dltTemplateId', params: { row: 2, id: '' } });
    assert.deepEqual(account.validateDltTemplates([{ ...OTP, id: '1.1E+18' }]), { key: 'errors.dltTemplateIdChars', params: { row: 1, id: '1.1E+18' } });
    assert.deepEqual(account.validateDltTemplates([OTP, OTP]), { key: 'errors.dltTemplateTwice', params: { row: 2, id: OTP.id } });
    assert.deepEqual(account.validateDltTemplates([{ ...OTP, text: '  ' }]), { key: 'errors.dltTemplateText', params: { row: 1, id: OTP.id } });
    assert.deepEqual(account.validateDltTemplates([{ ...OTP, category: 'service' }]), { key: 'errors.dltTemplateCategory', params: { row: 1, id: OTP.id } });
    assert.deepEqual(account.validateDltTemplates([null]), { key: 'errors.dltTemplateId', params: { row: 1, id: '' } });
  });

  it('the runtime uses the well-formed templates only, ids trimmed, categories as the portals write them', () => {
    assert.deepEqual(account.dltTemplatesOf(undefined), []);
    assert.deepEqual(
      account.dltTemplatesOf([{ ...OTP, id: ' 42 ', category: 'Service Implicit', name: undefined }, { ...OTP, text: '' }, { ...OTP, category: 'x' }, { ...OTP, id: '' }, null, { ...OTP, text: 5 }]),
      [{ id: '42', name: '', text: OTP.text, category: 'service-implicit' }],
    );
  });
});

describe('exotel-send contract, version 3: TRAI’s hours and the template check', () => {
  it('a new node and a saved one hold a promotional send outside the hours; a node set to fail keeps failing', () => {
    assert.equal(defaultValues(send.contract).outsideHours, 'hold');
    assert.equal(migrate(send.contract, { version: 2 }).outsideHours, 'hold');
    assert.equal(migrate(send.contract, { version: 2, outsideHours: 'fail' }).outsideHours, 'fail');
    assert.equal(migrate(send.contract, { version: 2, outsideHours: 'nonsense' }).outsideHours, 'hold');
    assert.equal(migrate(send.contract, {}).textType, 'msg', 'the earlier migrations still apply');
  });

  it('checks the choice', () => {
    assert.equal(send.validateOutsideHours('hold'), true);
    assert.equal(send.validateOutsideHours('fail'), true);
    assert.equal(send.validateOutsideHours(undefined), true, 'saved before version 3');
    assert.deepEqual(send.validateOutsideHours('later'), { key: 'errors.outsideHours' });
  });

  it('finds the account’s template of an id', () => {
    assert.equal(send.templateOf([OTP], ` ${OTP.id} `), OTP);
    assert.equal(send.templateOf([OTP], '1'), undefined);
    assert.equal(send.templateOf([OTP], ''), undefined);
    assert.equal(send.templateOf(undefined, OTP.id), undefined);
  });

  it('marks a typed text that cannot match the template, with where and why', () => {
    assert.equal(send.validateTextAgainstTemplate('Your OTP is {{conversation.code}}. - ACME', 'str', OTP), true);
    assert.deepEqual(send.validateTextAgainstTemplate('Your code is {{conversation.code}}. - ACME', 'str', OTP), {
      key: 'errors.textTemplate', params: { id: OTP.id, position: 6, expected: 'OTP is ', found: 'code is {{…}}. - ACM…' },
    });
    assert.deepEqual(send.validateTextAgainstTemplate('Your OTP is 1. - ACME. Thanks', 'str', OTP), {
      key: 'errors.textTemplateEnd', params: { id: OTP.id, position: 22, found: '. Thanks' },
    });
    assert.deepEqual(send.validateTextAgainstTemplate('Your OTP', 'str', OTP), {
      key: 'errors.textTemplateShort', params: { id: OTP.id, position: 9, expected: ' is ' },
    });
    assert.deepEqual(send.validateTextAgainstTemplate(`Your OTP is ${'1'.repeat(35)}. - ACME`, 'str', OTP), {
      key: 'errors.textTemplateVariable', params: { id: OTP.id, position: 13, length: 35, limit: 30 },
    });
    assert.deepEqual(send.validateTextAgainstTemplate('Thank you for shopping with ACME today, come again', 'str', { ...OTP, text: 'Thank you for your order at ACME' }), {
      key: 'errors.textTemplate', params: { id: OTP.id, position: 15, expected: 'your order at ACME', found: 'shopping with ACME t…' },
    });
  });

  it('leaves a text from a property, an empty text and a template the account does not list to the runtime', () => {
    assert.equal(send.validateTextAgainstTemplate('payload', 'msg', OTP), true);
    assert.equal(send.validateTextAgainstTemplate('', 'str', OTP), true);
    assert.equal(send.validateTextAgainstTemplate('Hello', 'str', undefined), true);
  });
});
