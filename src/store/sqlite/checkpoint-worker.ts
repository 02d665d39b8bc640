// The checkpointer's thread: copies the WAL into the database file (with fsync) on a connection of
// its own, so that the event loop never waits for it. A passive checkpoint does not block writers.
// Started by connection.ts; any message from the parent stops it.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

export interface CheckpointWorkerData {
  file: string;
  intervalMs: number;
}

if (parentPort) {
  const port = parentPort;
  const { file, intervalMs } = workerData as CheckpointWorkerData;
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  const timer = setInterval(() => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // busy or locked: the next tick tries again, and the main connection checkpoints on close
    }
  }, intervalMs);
  port.on('message', () => {
    clearInterval(timer);
    db.close();
    port.close();
  });
}
