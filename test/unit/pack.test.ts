// Replies packed for the trip between threads come back exactly as they were.
import * as assert from 'node:assert/strict';
import { pack, unpack } from '../../src/protocol/pack';

async function roundTrip<T>(v: T): Promise<T> {
  const p = pack(structuredClone(v));
  // What postMessage does: clone the value, move the buffers.
  const moved = structuredClone({ value: p.value, buffers: p.buffers }, { transfer: p.buffers });
  return (await unpack(moved.value, moved.buffers)) as T;
}

describe('reply packing', () => {
  it('round-trips matrices, records with holes, ragged arrays, repeated strings and small values', async () => {
    const T = 300;
    const v = {
      name: 'x',
      small: [[1, 2], [3, 4]],
      matrix: Array.from({ length: T }, (_, i) => Array.from({ length: 40 }, (_, j) => i * 0.5 - j / 3)),
      tokens: Array.from({ length: T }, (_, i) => ({ index: i, id: i % 7, text: ['a', 'b', 'ç', '🙂'][i % 4], bytes: i % 5 === 0 ? [] : [i % 256, 1], partial: i % 3 === 0 })),
      predictions: Array.from({ length: T }, (_, t) => ({
        top: Array.from({ length: 3 }, (_, j) => ({ id: j + t, text: `t${j}`, prob: 1 / (j + 2) })),
        ...(t < T - 1 ? { actual: { id: t, prob: 0.25, surprisalBits: 2, rank: 1 } } : {}),
      })),
      lens: Array.from({ length: 3 }, (_, l) => Array.from({ length: T }, (_, t) => (t % 4 === l ? [] : [{ id: t, text: 'x', prob: 0.5 }]))),
      nested: { deep: [{ a: 1 }, { b: 'two' }] },
      empty: [],
    };
    assert.deepEqual(await roundTrip(v), v);
  });

  it('moves large matrices as buffers, not as cloned arrays', () => {
    const m = Array.from({ length: 100 }, () => Array.from({ length: 100 }, () => Math.random()));
    const p = pack({ m });
    assert.equal(p.buffers.length, 1);
    assert.equal(p.buffers[0].byteLength, 100 * 100 * 8);
  });

  it('hands over typed arrays it owns whole, and copies views into a buffer the sender keeps', async () => {
    const owned = Float32Array.from({ length: 64 }, (_, i) => i / 2);
    const kept = new Float32Array(256).fill(3);
    const view = kept.subarray(16, 32);
    const p = pack({ a: { rows: 8, cols: 8, data: owned }, b: view, again: owned });
    assert.ok(p.buffers.includes(owned.buffer), 'the owned buffer is in the transfer list');
    assert.ok(!p.buffers.includes(kept.buffer), 'the kept buffer is not');
    assert.equal(new Set(p.buffers).size, p.buffers.length, 'no buffer twice (postMessage would throw)');
    const moved = structuredClone({ value: p.value, buffers: p.buffers }, { transfer: p.buffers });
    const back = (await unpack(moved.value, moved.buffers)) as { a: { data: Float32Array }; b: Float32Array; again: Float32Array };
    assert.deepEqual(Array.from(back.a.data), Array.from({ length: 64 }, (_, i) => i / 2));
    assert.deepEqual(Array.from(back.b), new Array(16).fill(3));
    assert.deepEqual(Array.from(back.again), Array.from(back.a.data));
    assert.equal(kept[20], 3, 'the sender still has its buffer');
  });
});
