// How a node of an example takes room on the canvas, as Node-RED 4 draws it: 30 px high with its
// status line (about 20 px) under it, as wide as its label (at least 100 px, a multiple of 20).
// Used by the layout spec of the examples; estimates, on the safe side.

export interface PlacedNode {
  id: string;
  type: string;
  name?: string;
  x: number;
  y: number;
  wires?: string[][];
}

export const NODE_HEIGHT = 30;
export const STATUS_HEIGHT = 20;
/** nodes in one column (overlapping horizontally) at least this far apart, centre to centre */
export const MIN_ROW_GAP = 60;
const CHAR_WIDTH = 7.5; // 14 px Helvetica, a little wider than the average letter
const ICON_AND_PORTS = 50;

/** The label's width estimate: the node's width on the canvas. */
export function nodeWidth(node: PlacedNode): number {
  const label = node.name || node.type;
  return Math.max(100, Math.ceil((label.length * CHAR_WIDTH + ICON_AND_PORTS) / 20) * 20);
}

export function left(node: PlacedNode): number {
  return node.x - nodeWidth(node) / 2;
}

export function right(node: PlacedNode): number {
  return node.x + nodeWidth(node) / 2;
}
