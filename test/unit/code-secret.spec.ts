// One-time codes keyed with a secret outside the store: a hash made with it verifies only with it,
// a hash made before (unkeyed) still verifies, and the key file is made once, readable by its owner only.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { codeMatches, hashCode, maskCode, newSalt, openText, sealText } from '../../src/sms/one-time-code';
import { codeKeyFromFile, codeKeyFromSecret } from '../../src/store/code-key';

describe('one-time-code secret', () => {
  const key = codeKeyFromSecret('the secret in settings.js');
  const other = codeKeyFromSecret('another secret');

  it('a keyed hash verifies the code with its key only; without the key no reply matches', () => {
    const salt = newSalt();
    const hash = hashCode('482913', salt, key);
    assert.ok(codeMatches('482913', hash, salt, key));
    assert.ok(codeMatches('४८२९१३', hash, salt, key), 'Indian digits still read');
    assert.equal(codeMatches('482914', hash, salt, key), false);
    assert.equal(codeMatches('482913', hash, salt, other), false, 'another key');
    assert.equal(codeMatches('482913', hash, salt), false, 'no key: the code counts as wrong, never as right');
    assert.ok(!hash.includes(hashCode('482913', salt)), 'not the unkeyed hash anyone could recompute from the store');
  });

  it('a code hashed before keys existed still verifies after the change', () => {
    const salt = newSalt();
    const legacy = hashCode('482913', salt);
    assert.ok(codeMatches('482913', legacy, salt, key));
    assert.equal(codeMatches('000000', legacy, salt, key), false);
  });

  it('seals a text so that only the same key opens it', () => {
    const sealed = sealText('Your code is 482913', key);
    assert.ok(!sealed.includes('482913'));
    assert.equal(openText(sealed, key), 'Your code is 482913');
    assert.equal(openText(sealed, other), null);
    assert.equal(openText(sealed, undefined), null);
    assert.equal(openText('', key), null);
    assert.equal(maskCode('Your code is 482913. 482913 expires soon', '482913'), 'Your code is ••••. •••• expires soon');
  });

  it('keeps the key in a file beside the store, made once with mode 0600, and refuses a file in another form', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-key-'));
    try {
      const file = path.join(dir, 'new', 'exotel-sms-codes.key');
      const first = codeKeyFromFile(file);
      assert.equal(first.length, 32);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
      assert.deepEqual(codeKeyFromFile(file), first);
      const bad = path.join(dir, 'bad.key');
      fs.writeFileSync(bad, 'not a key');
      assert.throws(() => codeKeyFromFile(bad), /not a key this package made/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
