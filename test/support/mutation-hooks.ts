// Root hooks of the mutation runs (.mocharc.mutation.json). Stryker runs every mutant in the same
// process: an answer a module remembered from an earlier run (a parsed number, a read catalogue) would
// hide the mutant that changes how it is worked out. Each test starts with those caches empty.
import { clearNumberCache } from '../../src/sms/phone';
import { clearMessageCaches } from '../../src/nodes/shared/i18n';

export const mochaHooks = {
  beforeEach(): void {
    clearNumberCache();
    clearMessageCaches();
  },
};
