// One store per file for the whole runtime: every node that asks for the same file shares one
// connection, and the file is closed when the last of them lets go.
import { IN_MEMORY, SqliteStore } from './sqlite';
import type { Store } from './store';

export type {
  CodeCheck,
  ConversationRecord,
  ConversationStart,
  ConversationUpdate,
  ConversationStore,
  ImportResult,
  InboundLog,
  InboundRecord,
  OptOutChange,
  OptOutRecord,
  OptOutResult,
  OptOutStore,
  OptStatus,
  Outbox,
  OutboxAddition,
  OutboxEntry,
  OutboxState,
  SandboxMessage,
  SandboxThread,
  SandboxThreads,
  Store,
} from './store';
export { IN_MEMORY, SqliteStore } from './sqlite';

export interface StoreHandle {
  store: Store;
  release(): Promise<void>;
}

const open = new Map<string, { store: SqliteStore; users: number }>();

export function acquireStore(file: string): StoreHandle {
  let entry = open.get(file);
  if (!entry) {
    entry = { store: new SqliteStore(file), users: 0 };
    open.set(file, entry);
  }
  entry.users++;
  const held = entry;
  let released = false;
  return {
    store: held.store,
    async release() {
      if (released) return;
      released = true;
      held.users--;
      if (held.users === 0 && open.get(file) === held) {
        open.delete(file);
        await held.store.close();
      }
    },
  };
}

