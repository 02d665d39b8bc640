// The fast mutation run of the node controllers: stryker.config.json's settings, the controller files
// only, and only the specs without Node-RED (.mocharc.mutation-controllers.json: test/unit and
// test/controllers). `npx stryker run stryker.controllers.config.mjs`; one file:
// `npx stryker run stryker.controllers.config.mjs --mutate src/nodes/opt-out-store/controller.ts`.
import fs from 'node:fs';

const base = JSON.parse(fs.readFileSync(new URL('./stryker.config.json', import.meta.url), 'utf8'));

export default {
  ...base,
  mochaOptions: { config: '.mocharc.mutation-controllers.json' },
  mutate: base.mutate.filter((pattern) => pattern.startsWith('src/nodes/')),
  jsonReporter: { fileName: 'reports/mutation/controllers.json' },
};
