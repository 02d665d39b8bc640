// When the flows have started: what a node hands on then has somewhere to go.
import type { Node, NodeAPI } from 'node-red';

/** Callbacks waiting for the flows to start, by runtime: one listener each, however many nodes wait. */
const waitingForStart = new WeakMap<object, Set<() => void>>();

/**
 * Runs `fn` once the flows have started (after a deploy or a restart), so that what a node hands on
 * then has somewhere to go. Nothing runs if the node closes first.
 */
export function whenFlowsStarted(RED: NodeAPI, node: Node, fn: () => void): void {
  let waiting = waitingForStart.get(RED.events);
  if (!waiting) {
    const set = new Set<() => void>();
    waiting = set;
    waitingForStart.set(RED.events, set);
    RED.events.on('flows:started', () => {
      const due = [...set];
      set.clear();
      for (const run of due) run();
    });
  }
  const queue = waiting;
  queue.add(fn);
  node.on('close', () => queue.delete(fn));
}
