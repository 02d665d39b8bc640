// Delivery reports on their way from an account (its report endpoint, or the sandbox) to the send
// node that sent the SMS, in this process. A report whose node is not running stays unhandled in the
// store, and the node reads it when it starts.
import type { ReportRecord } from '../../store';

export type ReportListener = (record: ReportRecord) => void;

const listeners = new Map<string, ReportListener>();

/** A send node hears its reports; the returned function stops it (and only it: a redeployed node may have taken over). */
export function listenForReports(nodeId: string, listener: ReportListener): () => void {
  listeners.set(nodeId, listener);
  return () => {
    if (listeners.get(nodeId) === listener) listeners.delete(nodeId);
  };
}

/** Hands a report to its send node; false when that node is not running here. */
export function handOnReport(nodeId: string, record: ReportRecord): boolean {
  const listener = listeners.get(nodeId);
  if (!listener) return false;
  listener(record);
  return true;
}
