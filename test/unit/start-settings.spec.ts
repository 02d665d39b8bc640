// `npm start`'s user directory answers Node-RED's first-run questions, so that the first screen is the
// opt-in example: telemetry and its update notification off, the welcome tour off. An unedited settings
// file of an earlier release is replaced; one the user edited is kept.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// scripts/start.js is CommonJS without types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { writeSettingsIfMissing } = require('../../scripts/start') as { writeSettingsIfMissing(userDir: string): void };

const EARLIER = `// Node-RED settings for \`npm start\` (scripts/start.js writes this file when it is missing; edit it freely).
module.exports = {
  flowFile: 'flows.json',
  uiHost: '127.0.0.1',
  uiPort: Number(process.env.PORT) || 1880,
};
`;

interface Settings {
  flowFile?: string;
  telemetry?: { enabled?: boolean; updateNotification?: boolean };
  editorTheme?: { tours?: boolean };
}

describe('npm start: the settings of the demo user directory', () => {
  let userDir: string;
  const file = () => path.join(userDir, 'settings.js');
  /** The settings as Node-RED reads them: the file required. */
  const settings = (): Settings => {
    delete require.cache[require.resolve(file())];
    return require(file()) as Settings;
  };

  beforeEach(() => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-start-'));
  });
  afterEach(() => fs.rmSync(userDir, { recursive: true, force: true }));

  it('a new user directory gets telemetry, its update notification and the welcome tour off', () => {
    writeSettingsIfMissing(userDir);
    const written = settings();
    assert.equal(written.telemetry?.enabled, false, 'no telemetry question');
    assert.equal(written.telemetry?.updateNotification, false, 'no update-notification question');
    assert.equal(written.editorTheme?.tours, false, 'no welcome tour');
    assert.equal(written.flowFile, 'flows.json');
  });

  it('replaces the unedited settings file an earlier release wrote', () => {
    fs.writeFileSync(file(), EARLIER);
    writeSettingsIfMissing(userDir);
    assert.equal(settings().editorTheme?.tours, false);
    assert.equal(settings().telemetry?.updateNotification, false);
  });

  it('keeps a settings file the user edited, byte for byte', () => {
    const edited = EARLIER.replace("uiHost: '127.0.0.1',", "uiHost: '0.0.0.0',");
    fs.writeFileSync(file(), edited);
    writeSettingsIfMissing(userDir);
    assert.equal(fs.readFileSync(file(), 'utf8'), edited);
  });
});
