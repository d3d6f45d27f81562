// Small helpers to write ONNX protobuf nodes and tensors: used by instrumentation and by tests that build graphs.
import { onnx } from 'onnx-proto';

export type AttrValue = number | string | number[] | Float32Array | { floats: number[] } | { tensor: onnx.ITensorProto };

/** An ONNX node; integer attributes are written as INT, non-integers as FLOAT; arrays of integers as INTS. */
export function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, name?: string, domain?: string): onnx.INodeProto {
  const attribute: onnx.IAttributeProto[] = [];
  for (const [key, v] of Object.entries(attrs)) {
    const A = onnx.AttributeProto.AttributeType;
    if (typeof v === 'string') attribute.push({ name: key, type: A.STRING, s: new TextEncoder().encode(v) });
    else if (typeof v === 'number') attribute.push(Number.isInteger(v) && !FLOAT_ATTRS.has(key) ? { name: key, type: A.INT, i: v } : { name: key, type: A.FLOAT, f: v });
    else if (Array.isArray(v)) attribute.push({ name: key, type: A.INTS, ints: v });
    else if ('floats' in v) attribute.push({ name: key, type: A.FLOATS, floats: v.floats });
    else if ('tensor' in v) attribute.push({ name: key, type: A.TENSOR, t: v.tensor });
  }
  return { opType, input: inputs, output: outputs, attribute, name: name ?? outputs[0], domain: domain ?? '' };
}

// Attributes that are FLOAT in the ONNX schema even when the value happens to be an integer.
const FLOAT_ATTRS = new Set(['epsilon', 'alpha', 'beta', 'gamma', 'value_float', 'bias', 'lambd']);

const DT = onnx.TensorProto.DataType;

export function floatTensor(name: string, dims: number[], data: Float32Array | number[]): onnx.ITensorProto {
  const f = data instanceof Float32Array ? data : Float32Array.from(data);
  return { name, dims, dataType: DT.FLOAT, rawData: new Uint8Array(f.buffer, f.byteOffset, f.byteLength) };
}

export function int64Tensor(name: string, dims: number[], data: number[]): onnx.ITensorProto {
  const b = BigInt64Array.from(data.map((x) => BigInt(x)));
  return { name, dims, dataType: DT.INT64, rawData: new Uint8Array(b.buffer) };
}

export function int8Tensor(name: string, dims: number[], data: Int8Array): onnx.ITensorProto {
  return { name, dims, dataType: DT.INT8, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function uint8Tensor(name: string, dims: number[], data: Uint8Array): onnx.ITensorProto {
  return { name, dims, dataType: DT.UINT8, rawData: data };
}

/** A graph input/output declaration; dims may be symbolic names. */
export function valueInfo(name: string, elemType: number, dims?: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: dims ? { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : undefined,
      },
    },
  };
}

/** Serialises a model for InferenceSession.create. */
export function encodeModel(model: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export { onnx };
export const DataType = DT;
