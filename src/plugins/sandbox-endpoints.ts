// The SMS in nodes that take the sandbox phone's replies. An exotel-inbound node of a sandbox account
// adds itself once it owns its route, and leaves on close: a node whose path was refused (in use) is
// never here, and a live account's node never is. Replies are handed over in-process, through the
// node's own checks; the sandbox opens no HTTP listener of its own.
import type { InboundCall, Reply } from '../nodes/exotel-inbound/controller';

export interface SandboxEndpoint {
  /** the exotel-inbound node */
  nodeId: string;
  /** its sandbox account's node id */
  accountId: string;
  path: string;
  name: string;
  /** the node's handler: token, allow-list, parsing, dedupe, record; answers as it would answer Exotel */
  receive(accountId: string, call: InboundCall): Promise<Reply>;
}

const endpoints = new Map<string, SandboxEndpoint>();

/** Adds a node's endpoint; returns what removes it (only that one, should the node be replaced meanwhile). */
export function addSandboxEndpoint(endpoint: SandboxEndpoint): () => void {
  endpoints.set(endpoint.nodeId, endpoint);
  return () => {
    if (endpoints.get(endpoint.nodeId) === endpoint) endpoints.delete(endpoint.nodeId);
  };
}

/** The endpoints of one sandbox account, in the order their nodes started. */
export function sandboxEndpointsOf(accountId: string): SandboxEndpoint[] {
  return [...endpoints.values()].filter((e) => e.accountId === accountId);
}
