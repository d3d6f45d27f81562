// Moves a reply between threads in a form that is cheap to receive, and rebuilds it on the receiving side in time
// slices. Receiving an analysis of 1000 tokens as plain objects blocked the host's event loop for 100-800 ms:
// structured clone creates every number array and every small object at once. Packed, large number matrices
// travel as transferred Float64Arrays, arrays of records as columns (strings dictionary-coded), and the receiver
// rebuilds the original shape yielding every few milliseconds. Typed arrays (the analysis' Matrix data) travel as
// they are, their buffers transferred: nothing to rebuild.

/** Matrices with fewer numbers, and record arrays with fewer elements, travel as they are. */
export const PACK_MIN_NUMBERS = 4096;
export const PACK_MIN_RECORDS = 32;

type Packed =
  | { __lens: 'matrix'; buffer: number; rows: number; cols: number }
  | { __lens: 'records'; n: number; keys: string[]; cols: unknown[]; holes: number[] }
  | { __lens: 'ragged'; lengths: number[]; flat: unknown }
  | { __lens: 'strings'; dict: string[]; buffer: number }
  | { __lens: 'numbers'; buffer: number };

export interface PackedValue {
  value: unknown;
  buffers: ArrayBuffer[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** A rectangular number[][] with at least `min` numbers, or undefined. */
function matrixShape(v: unknown[], min: number): { rows: number; cols: number } | undefined {
  const first = v[0];
  if (!Array.isArray(first) || first.length === 0 || typeof first[0] !== 'number') return undefined;
  const cols = first.length;
  if (v.length * cols < min) return undefined;
  for (const row of v) {
    if (!Array.isArray(row) || row.length !== cols || typeof row[0] !== 'number' || typeof row[cols - 1] !== 'number') return undefined;
  }
  return { rows: v.length, cols };
}

/** Packs `value`; the buffers go in the postMessage transfer list. */
export function pack(value: unknown): PackedValue {
  const buffers: ArrayBuffer[] = [];
  const put = (b: ArrayBuffer) => buffers.push(b) - 1;
  const transferred = new Set<ArrayBufferLike>();
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return walkArray(v);
    if (v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array || v instanceof Uint8Array) {
      // Transfer only a buffer the array owns whole and nothing else here uses: a view into a buffer the sender keeps
      // (e.g. the model's weights) is copied, since transferring would detach the sender's copy.
      // A reply hands over the typed arrays it owns whole: the sender must not keep using them.
      const whole = v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && !(v.buffer instanceof SharedArrayBuffer);
      const own = whole && !transferred.has(v.buffer) ? v : v.slice();
      transferred.add(own.buffer);
      buffers.push(own.buffer as ArrayBuffer);
      return own;
    }
    if (isRecord(v)) {
      const out: Record<string, unknown> = {};
      for (const k in v) out[k] = walk(v[k]);
      return out;
    }
    return v;
  };
  const walkArray = (v: unknown[]): unknown => {
    const n = v.length;
    if (n === 0) return v;
    const first = v[0];
    const shape = matrixShape(v, PACK_MIN_NUMBERS);
    if (shape) {
      const data = new Float64Array(shape.rows * shape.cols);
      for (let i = 0; i < shape.rows; i++) data.set(v[i] as number[], i * shape.cols);
      return { __lens: 'matrix', buffer: put(data.buffer), ...shape } satisfies Packed;
    }
    if (n < PACK_MIN_RECORDS) return typeof first !== 'object' || first === null ? v : v.map(walk);
    if (typeof first === 'number') {
      for (let i = 0; i < n; i++) if (typeof v[i] !== 'number') return v;
      return { __lens: 'numbers', buffer: put(Float64Array.from(v as number[]).buffer) } satisfies Packed;
    }
    if (typeof first === 'string') {
      const dict: string[] = [];
      const index = new Map<string, number>();
      const idx = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const x = v[i];
        if (typeof x !== 'string') return v;
        let k = index.get(x);
        if (k === undefined) {
          k = dict.length;
          dict.push(x);
          index.set(x, k);
        }
        idx[i] = k;
      }
      return { __lens: 'strings', dict, buffer: put(idx.buffer) } satisfies Packed;
    }
    // Records (undefined holes allowed, e.g. the last token's missing `actual`): one column per key.
    let records = true;
    let anyRecord = false;
    const keySet = new Set<string>();
    for (let i = 0; i < n && records; i++) {
      const x = v[i];
      if (x === undefined) continue;
      if (!isRecord(x)) records = false;
      else {
        anyRecord = true;
        for (const k in x) keySet.add(k);
      }
    }
    if (records && anyRecord) {
      const keys = [...keySet];
      const holes: number[] = [];
      for (let i = 0; i < n; i++) if (v[i] === undefined) holes.push(i);
      const cols = keys.map((k) => {
        const col: unknown[] = new Array(n);
        for (let i = 0; i < n; i++) col[i] = (v[i] as Record<string, unknown> | undefined)?.[k];
        return walkArray(col);
      });
      return { __lens: 'records', n, keys, holes, cols } satisfies Packed;
    }
    // Arrays of small arrays of records or of numbers (e.g. [token][k] predictions, token bytes): flattened.
    if (Array.isArray(first)) {
      let kind: string | undefined;
      let ok = true;
      const lengths = new Array<number>(n);
      for (let i = 0; i < n && ok; i++) {
        const x = v[i];
        if (!Array.isArray(x)) ok = false;
        else {
          lengths[i] = x.length;
          if (x.length === 0) continue;
          const k = isRecord(x[0]) ? 'records' : typeof x[0] === 'number' ? 'numbers' : 'other';
          if (k === 'other' || (kind !== undefined && k !== kind)) ok = false;
          kind = k;
        }
      }
      if (ok && kind) return { __lens: 'ragged', lengths, flat: walkArray(v.flat()) } satisfies Packed;
    }
    return typeof first !== 'object' || first === null ? v : v.map(walk);
  };
  return { value: walk(value), buffers };
}

/**
 * Rebuilds what pack() made. Works in slices of about `sliceMs`, yielding to the event loop between them, so a
 * large reply never blocks the receiving thread for long.
 */
export async function unpack(value: unknown, buffers: ArrayBuffer[], sliceMs = 4): Promise<unknown> {
  let sliceStart = performance.now();
  const tick = async () => {
    if (performance.now() - sliceStart < sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
  const walk = async (v: unknown): Promise<unknown> => {
    if (Array.isArray(v)) {
      if (v.length === 0 || typeof v[0] !== 'object' || v[0] === null) return v;
      for (let i = 0; i < v.length; i++) v[i] = await walk(v[i]);
      return v;
    }
    if (!isRecord(v)) return v;
    const p = v as Packed;
    switch (p.__lens) {
      case 'matrix': {
        const data = new Float64Array(buffers[p.buffer]);
        const out: number[][] = new Array(p.rows);
        for (let i = 0; i < p.rows; i++) {
          const row: number[] = new Array(p.cols);
          const o = i * p.cols;
          for (let j = 0; j < p.cols; j++) row[j] = data[o + j];
          out[i] = row;
          if ((i & 15) === 15) await tick();
        }
        return out;
      }
      case 'numbers': {
        const data = new Float64Array(buffers[p.buffer]);
        const out: number[] = new Array(data.length);
        for (let i = 0; i < data.length; i++) out[i] = data[i];
        await tick();
        return out;
      }
      case 'strings': {
        const idx = new Int32Array(buffers[p.buffer]);
        const out: string[] = new Array(idx.length);
        for (let i = 0; i < idx.length; i++) out[i] = p.dict[idx[i]];
        await tick();
        return out;
      }
      case 'records': {
        const cols: unknown[][] = [];
        for (const c of p.cols) cols.push((await walk(c)) as unknown[]);
        const out: Record<string, unknown>[] = new Array(p.n);
        const holes = new Set(p.holes);
        for (let i = 0; i < p.n; i++) {
          if (holes.has(i)) {
            out[i] = undefined as unknown as Record<string, unknown>;
            continue;
          }
          const r: Record<string, unknown> = {};
          for (let k = 0; k < p.keys.length; k++) {
            const x = cols[k][i];
            if (x !== undefined) r[p.keys[k]] = x;
          }
          out[i] = r;
          if ((i & 255) === 255) await tick();
        }
        return out;
      }
      case 'ragged': {
        const flat = (await walk(p.flat)) as unknown[];
        const out: unknown[][] = new Array(p.lengths.length);
        let o = 0;
        for (let i = 0; i < p.lengths.length; i++) {
          out[i] = flat.slice(o, o + p.lengths[i]);
          o += p.lengths[i];
          if ((i & 255) === 255) await tick();
        }
        return out;
      }
      default: {
        const o = v as Record<string, unknown>;
        for (const k of Object.keys(o)) o[k] = await walk(o[k]);
        return o;
      }
    }
  };
  return walk(value);
}
