// A status line under a node that does not flood the editor under load.
import type { NodeStatus, StatusFill, StatusLine, Translate } from './ports';

/** Sets the status under a node at most every `intervalMs`, always showing the latest text. */
export class ThrottledStatus implements StatusLine {
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeStatus | undefined;
  private last = 0;

  constructor(private readonly node: { status(status: NodeStatus): void }, private readonly intervalMs = 500) {}

  set(fill: StatusFill, shape: 'dot' | 'ring', text: string): void {
    this.pending = { fill, shape, text };
    const wait = this.last + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Shows a status at once (errors, configuration problems). */
  now(fill: StatusFill, shape: 'dot' | 'ring', text: string): void {
    this.pending = { fill, shape, text };
    this.flush();
  }

  stop(): void {
    // Stryker disable next-line ConditionalExpression: equivalent; clearing no timer does nothing
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.stop();
    this.last = Date.now();
    // Stryker disable next-line ConditionalExpression: equivalent; nothing flushes twice without a status set in between (flush clears the timer)
    if (this.pending) this.node.status(this.pending);
    this.pending = undefined;
  }
}

/** A configuration the node cannot run with: a red status under it and an error in the debug sidebar. */
export function refuse(node: { error(text: string): void }, status: ThrottledStatus, statusText: string, errorText: string): void {
  status.now('red', 'ring', statusText);
  node.error(errorText);
}

/**
 * Refuses a node saved with an action it does not know (a hand-edited or newer flow): true when it
 * did, and the node must not start. `m` is the node type's messages (status.badAction, error.badAction).
 */
export function refusedAction(
  node: { error(text: string): void },
  status: ThrottledStatus,
  m: Translate,
  actions: readonly string[],
  action: unknown,
): boolean {
  if ((actions as readonly unknown[]).includes(action)) return false;
  refuse(node, status, m('status.badAction'), m('error.badAction', { action: String(action).slice(0, 40) }));
  return true;
}
