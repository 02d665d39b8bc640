// The code secret's key file at its edges (found unchecked by mutation testing): made once, in a
// folder of its own that others cannot read, kept when another process made it first, tightened when
// others could read it, and refused when it is not a key this package made.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { codeKeyFromFile } from '../../src/store/code-key';

describe('the code key file', function () {
  let dir = '';
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-code-key-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('makes 32 random bytes as 64 hexadecimal digits and a newline, in a new folder only its owner can open', function () {
    const file = path.join(dir, 'deep', 'er', 'code.key');
    const key = codeKeyFromFile(file);
    assert.equal(key.length, 32);
    assert.equal(fs.readFileSync(file, 'utf8'), key.toString('hex') + '\n');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
  });

  it('reads a key another process wrote first, and the same key again once it is known', function () {
    const file = path.join(dir, 'code.key');
    fs.writeFileSync(file, 'ab'.repeat(32) + '\n', { mode: 0o600 });
    assert.equal(codeKeyFromFile(file).toString('hex'), 'ab'.repeat(32));
    fs.writeFileSync(file, 'cd'.repeat(32) + '\n', { mode: 0o600 });
    assert.equal(codeKeyFromFile(file).toString('hex'), 'ab'.repeat(32), 'the key in use does not change under a running process');
  });

  it('tightens a key file others could read, and leaves a private one alone', function () {
    const file = path.join(dir, 'open.key');
    fs.writeFileSync(file, 'ef'.repeat(32), { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    codeKeyFromFile(file);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const own = path.join(dir, 'own.key');
    fs.writeFileSync(own, 'ef'.repeat(32));
    fs.chmodSync(own, 0o400);
    codeKeyFromFile(own);
    assert.equal(fs.statSync(own).mode & 0o777, 0o400, 'read-only for its owner stays so');
  });

  it('refuses a file that is not a key this package made, naming it', function () {
    for (const [name, text] of [['short.key', 'ab'.repeat(31)], ['long.key', 'ab'.repeat(33)], ['prefixed.key', 'x' + 'ab'.repeat(32)], ['upper.key', 'AB'.repeat(32)]]) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text, { mode: 0o600 });
      assert.throws(() => codeKeyFromFile(file), { message: `${file} is not a key this package made (64 hexadecimal digits)` }, name);
    }
  });

  it('says why when it cannot write the key', function () {
    const blocker = path.join(dir, 'file');
    fs.writeFileSync(blocker, 'not a folder');
    assert.throws(() => codeKeyFromFile(path.join(blocker, 'code.key')), (err: NodeJS.ErrnoException) => err.code === 'ENOTDIR' || err.code === 'EEXIST');
  });
});
