// The (msg, send, done) input handler and TypedInput properties, as Node-RED provides them.
import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';
import type { Done, Evaluate, Send } from './ports';

/** Registers the `(msg, send, done)` input handler (the typings of Node-RED 1.x do not know it). */
export function onInput(node: Node, handler: (msg: NodeMessageInFlow, send: Send, done: Done) => void): void {
  (node as unknown as { on(event: 'input', listener: (msg: NodeMessageInFlow, send: Send, done: Done) => void): void }).on('input', handler);
}

/** A TypedInput property of a node, evaluated against a message (msg, flow, global, env, str, json…). */
export function evaluateProperty(RED: NodeAPI, node: Node, value: string, type: string, msg: NodeMessageInFlow): Promise<unknown> {
  return new Promise((resolve, reject) => {
    RED.util.evaluateNodeProperty(value, type, node, msg, (err: Error | null, result: unknown) => (err ? reject(err) : resolve(result)));
  });
}

/** The evaluator a controller is given: this node's TypedInputs. */
export function evaluatorFor(RED: NodeAPI, node: Node): Evaluate {
  return (value, type, msg) => evaluateProperty(RED, node, value, type, msg as NodeMessageInFlow);
}
