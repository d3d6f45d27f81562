// The one small interface the session code talks to for inference: create a session from bytes, run it with plain
// tensors in and out, release it. No onnxruntime type crosses it (as transformers.js keeps ONNX Runtime behind its
// backends module), so a second runtime (onnxruntime-node) implements the same interface beside web.ts. Runtimes
// own their tensors' lifetimes: what comes out of `run` is plain typed arrays, valid after the call.
import { RuntimeUnavailableError } from '../common/errors';

export type TensorType = 'float32' | 'float16' | 'int64' | 'int32' | 'bool';

export interface TensorDataOf {
  float32: Float32Array;
  /** Raw IEEE half floats. */
  float16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
  /** One byte per value, 0 or 1. */
  bool: Uint8Array;
}

export interface Tensor<T extends TensorType = TensorType> {
  type: T;
  data: TensorDataOf[T];
  dims: readonly number[];
}

export const tensor = {
  f32: (data: Float32Array, dims: readonly number[]): Tensor<'float32'> => ({ type: 'float32', data, dims }),
  i64: (values: ArrayLike<number>, dims: readonly number[]): Tensor<'int64'> => ({ type: 'int64', data: BigInt64Array.from(Array.from(values, BigInt)), dims }),
  i32: (values: ArrayLike<number>, dims: readonly number[]): Tensor<'int32'> => ({ type: 'int32', data: Int32Array.from(values), dims }),
  bool: (v: boolean): Tensor<'bool'> => ({ type: 'bool', data: Uint8Array.from([v ? 1 : 0]), dims: [] }),
  /** An integer tensor of the element type a graph input declares (ONNX 6 = int32, else int64). */
  int: (elemType: number, values: ArrayLike<number>, dims: readonly number[]): Tensor<'int64' | 'int32'> => (elemType === 6 ? tensor.i32(values, dims) : tensor.i64(values, dims)),
  /** A [batch, heads, 0, headDim] past key or value: a graph "with past" fed with nothing cached yet. */
  emptyPast: (type: 'float32' | 'float16', dims: readonly number[]): Tensor<'float32' | 'float16'> =>
    type === 'float16' ? { type, data: new Uint16Array(0), dims } : { type, data: new Float32Array(0), dims },
};

export interface RuntimeSession {
  /** Runs the graph; `fetches` names the outputs wanted (default: all). */
  run(feeds: Record<string, Tensor>, fetches?: readonly string[]): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

export interface InferenceRuntime {
  /** What the runtime info view and the log call it, e.g. "onnxruntime-web (WebAssembly)". */
  readonly name: string;
  /**
   * The most memory all its sessions can use together, when the runtime has a hard cap of its own (onnxruntime-web's
   * 32-bit WebAssembly heap); undefined when only the machine's memory bounds it. The load refuses a model whose
   * estimated need is larger (core/model/memory.ts).
   */
  readonly memoryLimitBytes?: number;
  createSession(model: Uint8Array): Promise<RuntimeSession>;
}

/**
 * Creates a session for the smallest valid graph (Identity on float[2]), runs it and releases it: proves a runtime
 * works before a model depends on it. Returns the milliseconds the session took to create.
 */
export async function probeSession(runtime: InferenceRuntime): Promise<number> {
  const t0 = performance.now();
  const session = await runtime.createSession(Uint8Array.from(TRIVIAL_MODEL_BYTES));
  const ms = performance.now() - t0;
  try {
    const out = await session.run({ x: tensor.f32(new Float32Array([1, 2]), [2]) });
    if ((out.y?.data as Float32Array | undefined)?.[1] !== 2) throw new RuntimeUnavailableError(`${runtime.name}: a trivial graph gave a wrong result.`);
  } finally {
    await session.release();
  }
  return ms;
}

// ModelProto bytes encoded once with onnx-proto (ir_version 8, opset 17, graph "p", one Identity node x -> y, float[2]);
// inline so the probe needs no file.
export const TRIVIAL_MODEL_BYTES: number[] = [8,8,58,55,10,16,10,1,120,18,1,121,34,8,73,100,101,110,116,105,116,121,18,1,112,90,15,10,1,120,18,10,10,8,8,1,18,4,10,2,8,2,98,15,10,1,121,18,10,10,8,8,1,18,4,10,2,8,2,66,4,10,0,16,17];
