import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadExampleFlows } from '../support/start-script';
import type { FlowNode } from '../support/red';

describe('npm start’s user directory', function () {
  let dir: string;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-start-'));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts with every example on its own tab, in sandbox mode, with no id used twice', function () {
    assert.equal(loadExampleFlows(dir), 6);
    const flows = JSON.parse(fs.readFileSync(path.join(dir, 'flows.json'), 'utf8')) as FlowNode[];
    const tabs = flows.filter((n) => n.type === 'tab').map((n) => n.label);
    assert.deepEqual(tabs, ['01 Opt-in and opt-out', '02 Survey', '03 Appointment confirmation', '04 OTP verification by reply', '05 Order status conversation', '06 All scenarios on one number']);
    const ids = flows.map((n) => n.id);
    assert.equal(new Set(ids).size, ids.length);
    const paths = flows.filter((n) => n.type === 'exotel-inbound').map((n) => n.path);
    assert.equal(new Set(paths).size, paths.length, 'each webhook path once');
    assert.ok(flows.filter((n) => n.type === 'exotel-account').every((n) => n.mode === 'sandbox'));
  });

  it('leaves a flows.json that holds the user’s flows alone', function () {
    const mine = [{ id: 'mine', type: 'tab', label: 'Mine' }];
    fs.writeFileSync(path.join(dir, 'flows.json'), JSON.stringify(mine));
    assert.equal(loadExampleFlows(dir), 0);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'flows.json'), 'utf8')), mine);
  });
});
