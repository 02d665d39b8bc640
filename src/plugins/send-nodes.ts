// The deployed send nodes, for the SMS tab's outbox: a failed send queued again by an operator is
// handed to its own node, which sends it as it sends what was queued before a restart. A node adds
// itself when it starts and leaves on close (only that one, should it be replaced meanwhile).
import type { OutboxEntry } from '../store';

export interface SendNode {
  nodeId: string;
  name: string;
  /** sends an entry the outbox holds queued again */
  resend(entry: OutboxEntry): void;
}

const nodes = new Map<string, SendNode>();

export function addSendNode(node: SendNode): () => void {
  nodes.set(node.nodeId, node);
  return () => {
    if (nodes.get(node.nodeId) === node) nodes.delete(node.nodeId);
  };
}

export function sendNodeOf(nodeId: string): SendNode | undefined {
  return nodes.get(nodeId);
}
