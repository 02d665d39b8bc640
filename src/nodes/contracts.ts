// Every node contract by type: the runtime imports each from its folder; the editor gets this
// module as one script (resources/contracts.js, global `ExotelSmsContracts`, built by scripts/build.js).
import { defaultValues, migrate, text, versionOf } from './contract';
import * as account from './exotel-account/contract';
import * as inbound from './exotel-inbound/contract';
import * as keywordSwitch from './keyword-switch/contract';
import * as conversation from './conversation-state/contract';
import * as send from './exotel-send/contract';
import * as optOut from './opt-out-store/contract';

export const nodes = {
  'exotel-account': account,
  'exotel-inbound': inbound,
  'keyword-switch': keywordSwitch,
  'conversation-state': conversation,
  'exotel-send': send,
  'opt-out-store': optOut,
};

export { defaultValues, migrate, text, versionOf };
