// send SMS, contract version 2: a new node's Text is typed in; a node saved before keeps what it read.
import assert from 'node:assert/strict';
import { defaultValues, migrate } from '../../src/nodes/contract';
import { contract, validateText } from '../../src/nodes/exotel-send/contract';

describe('send SMS contract, version 2', () => {
  it('a new node: Text typed in (str), empty until the user types it; HELP answers reach opted-out numbers', () => {
    const fresh = defaultValues(contract);
    assert.equal(fresh.version, contract.version);
    assert.equal(fresh.textType, 'str');
    assert.equal(fresh.text, '');
    assert.equal(fresh.helpReachesOptedOut, true);
    assert.equal(fresh.optOutConfirmation, false);
  });

  it('a node saved at version 1 keeps its text and type; without a type it read msg.payload, and still does', () => {
    assert.deepEqual(pick(migrate(contract, { version: 1, text: 'payload', textType: 'msg' })), { text: 'payload', textType: 'msg', helpReachesOptedOut: false });
    assert.deepEqual(pick(migrate(contract, { version: 1, text: 'Hello {{payload}}', textType: 'str' })), { text: 'Hello {{payload}}', textType: 'str', helpReachesOptedOut: false });
    assert.deepEqual(pick(migrate(contract, { version: 1 })), { text: 'payload', textType: 'msg', helpReachesOptedOut: false });
    assert.deepEqual(pick(migrate(contract, { version: 1, text: 'body' })), { text: 'body', textType: 'msg', helpReachesOptedOut: false });
  });

  it('a node saved before versions reads msg.payload, as it did', () => {
    assert.deepEqual(pick(migrate(contract, { account: 'a' })), { text: 'payload', textType: 'msg', helpReachesOptedOut: false });
    assert.equal(migrate(contract, { account: 'a' }).version, contract.version);
  });

  it('a ticked confirmation box stays ticked', () => {
    assert.equal(migrate(contract, { version: 1, optOutConfirmation: true }).optOutConfirmation, true);
  });

  it('Text: blank is refused with the reason for its kind; a property is left to Node-RED’s check', () => {
    assert.deepEqual(validateText('', 'str'), { key: 'errors.textTyped' });
    assert.deepEqual(validateText(' ', 'msg'), { key: 'errors.textEmpty' });
    assert.equal(validateText('Thanks!', 'str'), true);
    assert.equal(validateText('payload', 'msg'), 'typed');
  });
});

function pick(config: { text: unknown; textType: unknown; helpReachesOptedOut: unknown }) {
  return { text: config.text, textType: config.textType, helpReachesOptedOut: config.helpReachesOptedOut };
}
