// A status line under a node that does not flood the editor under load.
import type { NodeStatus, StatusFill, StatusLine } from './ports';

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
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.stop();
    this.last = Date.now();
    if (this.pending) this.node.status(this.pending);
    this.pending = undefined;
  }
}

/** A configuration the node cannot run with: a red status under it and an error in the debug sidebar. */
export function refuse(node: { error(text: string): void }, status: ThrottledStatus, statusText: string, errorText: string): void {
  status.now('red', 'ring', statusText);
  node.error(errorText);
}
