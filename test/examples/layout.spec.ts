// The examples as a newcomer first sees them on the canvas: no node over another's label or status
// line, wires that run left to right, and conversations of their own in every example.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { left, MIN_ROW_GAP, NODE_HEIGHT, nodeWidth, right, STATUS_HEIGHT, type PlacedNode } from '../support/example-layout';

const dir = path.join(__dirname, '..', '..', 'examples');
const files = fs.readdirSync(dir).filter((name) => name.endsWith('.json')).sort();
const flowOf = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Array<PlacedNode & Record<string, unknown>>;
const onCanvas = (flow: ReturnType<typeof flowOf>) => flow.filter((node) => typeof node.x === 'number' && typeof node.y === 'number');

describe('the examples’ layout', () => {
  it('finds the six examples', () => assert.equal(files.length, 6));

  for (const file of files) {
    describe(file, () => {
      const nodes = onCanvas(flowOf(file));

      it('no node over another node’s label or status line', () => {
        const clashes: string[] = [];
        for (let i = 0; i < nodes.length; i++) {
          for (let j = i + 1; j < nodes.length; j++) {
            const [a, b] = [nodes[i], nodes[j]];
            const sideBySide = right(a) <= left(b) || right(b) <= left(a);
            if (!sideBySide && Math.abs(a.y - b.y) < MIN_ROW_GAP) clashes.push(`"${a.name}" (${a.x},${a.y}) and "${b.name}" (${b.x},${b.y})`);
          }
        }
        assert.deepEqual(clashes, [], `nodes in one column must be ${MIN_ROW_GAP} px apart (${NODE_HEIGHT} px node + ${STATUS_HEIGHT} px status + room)`);
      });

      it('every wire runs left to right, from one node’s right edge to the next one’s left edge', () => {
        const byId = new Map(nodes.map((node) => [node.id, node]));
        const backwards: string[] = [];
        for (const node of nodes) {
          for (const target of (node.wires ?? []).flat()) {
            const to = byId.get(target);
            assert.ok(to, `${node.id} is wired to ${target}, which is not on the canvas`);
            if (left(to) < right(node) + 20) backwards.push(`"${node.name}" → "${to.name}"`);
          }
        }
        assert.deepEqual(backwards, []);
      });

      it('the comment (read me) is above the nodes, clear of them', () => {
        const comment = nodes.find((node) => node.type === 'comment');
        assert.ok(comment);
        for (const node of nodes) if (node !== comment) assert.ok(node.y - comment.y >= MIN_ROW_GAP, `"${node.name}"`);
      });
    });
  }

  it('the width estimate grows with the label (a long label needs a wider column)', () => {
    const short = nodeWidth({ id: 'a', type: 'exotel-send', name: 'Help', x: 0, y: 0 });
    const long = nodeWidth({ id: 'b', type: 'exotel-send', name: 'Unsubscribed (opt-out confirmation)', x: 0, y: 0 });
    assert.equal(short, 100);
    assert.ok(long >= 300);
  });
});

describe('the examples’ conversations', () => {
  it('no two examples share a conversation name (deployed together, one would answer or remind for the other)', () => {
    const owner = new Map<string, string>();
    const shared: string[] = [];
    for (const file of files) {
      const names = new Set(flowOf(file).filter((node) => node.type === 'conversation-state').map((node) => String(node.conversation)));
      for (const name of names) {
        if (owner.has(name)) shared.push(`"${name}" in ${owner.get(name)} and ${file}`);
        else owner.set(name, file);
      }
    }
    assert.ok(owner.size >= 8, 'the examples have conversations');
    assert.deepEqual(shared, []);
  });
});
