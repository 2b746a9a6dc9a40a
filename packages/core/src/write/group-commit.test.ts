import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

/** A writer whose statements finish when the test says so, recording each batch. */
function recorder(maxBatch: number, refuse: (n: number) => boolean = () => false) {
  const batches: number[][] = [];
  const pending: (() => void)[] = [];
  const gate = () => new Promise<void>((resolve) => pending.push(resolve));
  const g = new GroupCommit<number, string>({
    writeBatch: async (items) => {
      batches.push([...items]);
      await gate();
      if (items.some(refuse)) throw Object.assign(new Error('refused'), { code: '23514' });
      return items.map((n) => `row ${n}`);
    },
    writeOne: async (n) => {
      batches.push([n]);
      await gate();
      if (refuse(n)) throw Object.assign(new Error('refused'), { code: '23514' });
      return `row ${n}`;
    },
    isRefusal: (err) => (err as { code?: string }).code === '23514',
    maxBatch,
  });
  const release = async () => {
    while (pending.length > 0) {
      pending.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { g, batches, release };
}

describe('GroupCommit', () => {
  it('writes a lone item at once, and queues arrivals into the next batch, capped', async () => {
    const { g, batches, release } = recorder(3);
    const first = g.write(0);
    // Nothing was in flight: the first item left at once, alone, with no timer.
    expect(batches).toEqual([[0]]);
    const rest = [1, 2, 3, 4, 5].map((n) => g.write(n));
    expect(batches).toHaveLength(1);
    await release();
    expect(batches).toEqual([[0], [1, 2, 3], [4, 5]]);
    expect(await Promise.all([first, ...rest])).toEqual([0, 1, 2, 3, 4, 5].map((n) => `row ${n}`));
  });

  it('retries a refused batch row by row: only the bad row fails', async () => {
    const { g, batches, release } = recorder(10, (n) => n === 2);
    const all = Promise.allSettled([0, 1, 2, 3].map((n) => g.write(n)));
    await release();
    const results = await all;
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(batches).toEqual([[0], [1, 2, 3], [1], [2], [3]]);
  });

  it('fails every caller of a batch whose outcome is unknown', async () => {
    const g = new GroupCommit<number, string>({
      writeBatch: async () => {
        throw Object.assign(new Error('Connection terminated'), { code: '57P01' });
      },
      writeOne: async (n) => {
        await new Promise((r) => setTimeout(r, 5));
        return `row ${n}`;
      },
      isRefusal: () => false,
      maxBatch: 10,
    });
    const results = await Promise.allSettled([0, 1, 2].map((n) => g.write(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
  });
});
