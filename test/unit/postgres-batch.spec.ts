// The PostgreSQL store's batches: what is asked while a statement of its kind is on its way goes in
// the next one, each caller gets its own item's answer, and a failed statement fails all its callers.
import assert from 'node:assert/strict';
import { Batch } from '../../src/store/postgres/batch';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('PostgreSQL store: one statement for the calls of one kind asked together', () => {
  it('asks once for a turn of calls, at most two statements at once, the rest together in the next', async () => {
    const written: number[][] = [];
    const answers: Array<() => void> = [];
    const batch = new Batch<number, string>((items) => {
      written.push(items);
      return new Promise((resolve) => answers.push(() => resolve(items.map((n) => `answer ${n}`))));
    });
    const first = [1, 2].map((n) => batch.add(n));
    await turn();
    const second = batch.add(3);
    await turn();
    const waiting = [4, 5].map((n) => batch.add(n));
    await turn();
    assert.deepEqual(written, [[1, 2], [3]], 'two on their way; 4 and 5 wait for one of them');
    answers[0]();
    assert.deepEqual(await Promise.all(first), ['answer 1', 'answer 2']);
    await turn();
    assert.deepEqual(written, [[1, 2], [3], [4, 5]]);
    answers[1]();
    answers[2]();
    assert.deepEqual(await Promise.all([second, ...waiting]), ['answer 3', 'answer 4', 'answer 5']);
  });

  it('fails every caller of a statement that failed, and goes on with the next', async () => {
    let fail = true;
    const batch = new Batch<number>(async () => {
      if (fail) throw new Error('the database cannot be reached');
    });
    const failed = [1, 2].map((n) => batch.add(n));
    for (const call of failed) await assert.rejects(call, /cannot be reached/);
    fail = false;
    await batch.add(3);
  });
});
