// Reads ONNX files into onnx-proto objects: typed errors for bad bytes, external data checked to stay inside the model folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { ModelFormatError, ModelTooLargeError, TensorDataError, UnsafeExternalDataError } from '../model/errors';
import { isInside } from '../model/folder';
import { cleanText, quoteName } from '../model/untrusted';
import { halfToFloat, upcastFloat16 } from './upcast';

/** An int64 field as protobufjs decodes it: a number or a Long. */
export type Int64 = number | { toNumber(): number };

export function num(x: Int64 | null | undefined): number {
  if (x === null || x === undefined) return 0;
  return typeof x === 'number' ? x : x.toNumber();
}

/** Decodes ModelProto bytes; `file` names the source in error messages. */
export function decodeModel(bytes: Uint8Array, file: string): onnx.ModelProto {
  if (bytes.length === 0) throw new ModelFormatError(file, 'the file is empty.');
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    // protobufjs says where decoding stopped (offsets, wire types); bounded all the same.
    const msg = cleanText((e as Error).message, 160);
    const truncated = /index out of range/.test(msg);
    throw new ModelFormatError(file, truncated ? `the file is truncated (${msg}).` : `the file is corrupt or not ONNX (${msg}).`);
  }
  // Protobuf decoding accepts many byte strings; a real model has a graph, nodes and an opset.
  const g = model.graph;
  if (!g || !g.node || g.node.length === 0) throw new ModelFormatError(file, 'it has no graph (is it an ONNX model?).');
  if (!model.opsetImport || model.opsetImport.length === 0) throw new ModelFormatError(file, 'it declares no operator set.');
  return model;
}

export interface ReadModelOptions {
  /** The model folder: external data must stay inside it. */
  folder: string;
  /** Largest model file, and largest external data file, in bytes. */
  maxBytes: number;
}

/**
 * Reads an ONNX file and inlines any external data, so that the result is one self-contained
 * ModelProto. External data locations must be relative, inside `folder`, and reached without
 * symbolic links. A float16 graph (model_fp16, model_q4f16) is read as float32 (onnx/upcast.ts).
 */
export function readModelFile(file: string, options: ReadModelOptions): onnx.ModelProto {
  const size = fs.statSync(file).size;
  if (size > options.maxBytes) throw new ModelTooLargeError(file, size, options.maxBytes);
  const model = decodeModel(fs.readFileSync(file), file);
  inlineExternalData(model, file, options);
  checkTensorData(model, file);
  upcastFloat16(model);
  return model;
}

const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

function inlineExternalData(model: onnx.ModelProto, file: string, options: ReadModelOptions): void {
  const tensors = model.graph?.initializer ?? [];
  const external = tensors.filter((t) => t.dataLocation === EXTERNAL);
  if (external.length === 0) return;
  const folder = fs.realpathSync(options.folder);
  const dir = path.dirname(path.resolve(file));
  const files = new Map<string, Buffer>();
  for (const t of external) {
    const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = kv.get('location');
    if (!location) throw new TensorDataError(file, t.name ?? '', 'is stored externally but names no location.');
    let data = files.get(location);
    if (!data) {
      const target = checkLocation(file, folder, dir, location);
      const size = fs.statSync(target).size;
      if (size > options.maxBytes) throw new ModelTooLargeError(cleanText(target, 200), size, options.maxBytes);
      data = fs.readFileSync(target);
      files.set(location, data);
    }
    const offset = Number(kv.get('offset') ?? 0);
    const length = kv.has('length') ? Number(kv.get('length')) : data.length - offset;
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > data.length) {
      throw new TensorDataError(file, t.name ?? '', `reads bytes ${offset}..${offset + length} of ${quoteName(location)}, which has ${data.length}.`);
    }
    t.rawData = data.subarray(offset, offset + length);
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    t.externalData = [];
  }
}

/** Resolves an external data location; refuses absolute paths, escapes from the folder and links. */
function checkLocation(file: string, folder: string, dir: string, location: string): string {
  if (path.isAbsolute(location) || /^[a-zA-Z]:/.test(location)) {
    throw new UnsafeExternalDataError(file, location, 'is an absolute path');
  }
  const realDir = fs.realpathSync(dir);
  const target = path.resolve(realDir, location);
  if (!isInside(folder, target)) throw new UnsafeExternalDataError(file, location, 'lies outside the model folder');
  const rel = path.relative(folder, target);
  // Walk every component below the folder: none may be a symbolic link.
  let cur = folder;
  for (const part of rel.split(path.sep)) {
    cur = path.join(cur, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(cur);
    } catch {
      throw new ModelFormatError(file, `its external data file ${quoteName(location)} does not exist.`);
    }
    if (st.isSymbolicLink()) throw new UnsafeExternalDataError(file, location, 'goes through a symbolic link');
  }
  if (!fs.statSync(target).isFile()) throw new UnsafeExternalDataError(file, location, 'is not a regular file');
  return target;
}

const DT = onnx.TensorProto.DataType;

/** Element count of a tensor from its dims. */
export function tensorSize(t: onnx.ITensorProto): number {
  return (t.dims ?? []).reduce<number>((a, d) => a * num(d as Int64), 1);
}

export function tensorDims(t: onnx.ITensorProto): number[] {
  return (t.dims ?? []).map((d) => num(d as Int64));
}

type DataField = 'floatData' | 'doubleData' | 'int32Data' | 'int64Data' | 'uint64Data' | 'stringData';

/**
 * How each data type is stored (onnx.proto3): bytes per element in raw_data, else which repeated field holds the
 * values and how many entries one element takes (complex: two). The packing of 4-bit types in int32_data is not
 * relied on: only their raw_data length, and that some data is there, are checked.
 */
const STORAGE: Record<number, { name: string; bytes: number; field: DataField; per?: number }> = {
  1: { name: 'FLOAT', bytes: 4, field: 'floatData', per: 1 },
  2: { name: 'UINT8', bytes: 1, field: 'int32Data', per: 1 },
  3: { name: 'INT8', bytes: 1, field: 'int32Data', per: 1 },
  4: { name: 'UINT16', bytes: 2, field: 'int32Data', per: 1 },
  5: { name: 'INT16', bytes: 2, field: 'int32Data', per: 1 },
  6: { name: 'INT32', bytes: 4, field: 'int32Data', per: 1 },
  7: { name: 'INT64', bytes: 8, field: 'int64Data', per: 1 },
  8: { name: 'STRING', bytes: 0, field: 'stringData', per: 1 },
  9: { name: 'BOOL', bytes: 1, field: 'int32Data', per: 1 },
  10: { name: 'FLOAT16', bytes: 2, field: 'int32Data', per: 1 },
  11: { name: 'DOUBLE', bytes: 8, field: 'doubleData', per: 1 },
  12: { name: 'UINT32', bytes: 4, field: 'uint64Data', per: 1 },
  13: { name: 'UINT64', bytes: 8, field: 'uint64Data', per: 1 },
  14: { name: 'COMPLEX64', bytes: 8, field: 'floatData', per: 2 },
  15: { name: 'COMPLEX128', bytes: 16, field: 'doubleData', per: 2 },
  16: { name: 'BFLOAT16', bytes: 2, field: 'int32Data', per: 1 },
  17: { name: 'FLOAT8E4M3FN', bytes: 1, field: 'int32Data', per: 1 },
  18: { name: 'FLOAT8E4M3FNUZ', bytes: 1, field: 'int32Data', per: 1 },
  19: { name: 'FLOAT8E5M2', bytes: 1, field: 'int32Data', per: 1 },
  20: { name: 'FLOAT8E5M2FNUZ', bytes: 1, field: 'int32Data', per: 1 },
  21: { name: 'UINT4', bytes: 0.5, field: 'int32Data' },
  22: { name: 'INT4', bytes: 0.5, field: 'int32Data' },
  23: { name: 'FLOAT4E2M1', bytes: 0.5, field: 'int32Data' },
};

const FIELD_NAMES: Record<DataField, string> = { floatData: 'float_data', doubleData: 'double_data', int32Data: 'int32_data', int64Data: 'int64_data', uint64Data: 'uint64_data', stringData: 'string_data' };

/**
 * What is wrong with a tensor's stored data, given its type and dims (as a phrase after the tensor's name);
 * undefined when they agree. Dims are counted from the file, so a tensor that declares 20 M rows and stores none
 * is caught here rather than by a 2 GB allocation or an "Invalid typed array length" later. Tensors of types not
 * listed, and data not yet read from an external file, are left to onnxruntime.
 */
export function tensorDataProblem(t: onnx.ITensorProto): string | undefined {
  const storage = STORAGE[t.dataType ?? 0];
  const dims = (t.dims ?? []).map((d) => num(d as Int64));
  const shown = `[${dims.slice(0, 8).join(', ')}${dims.length > 8 ? ', …' : ''}]`;
  const bad = dims.find((d) => !Number.isSafeInteger(d) || d < 0);
  if (bad !== undefined) return `has an invalid dimension (${bad}) in its dims ${shown}.`;
  const n = dims.reduce((a, d) => a * d, 1);
  if (!Number.isSafeInteger(n)) return `declares dims ${shown}, more values than any file can hold.`;
  if (!storage || t.dataLocation === EXTERNAL) return undefined;
  const what = `(${storage.name}, dims ${shown}) should hold ${n} value${n === 1 ? '' : 's'}`;
  const raw = t.rawData?.length ?? 0;
  const entries = (t[storage.field] ?? []).length;
  if (raw > 0) {
    const bytes = Math.ceil(n * storage.bytes);
    if (storage.field === 'stringData') return `${what} but stores raw data, which strings cannot use.`;
    return raw === bytes ? undefined : `${what} (${bytes} bytes) but its raw data has ${raw} bytes.`;
  }
  if (n > 0 && entries === 0) return `${what}${storage.bytes ? ` (${Math.ceil(n * storage.bytes)} bytes)` : ''} but its data is empty.`;
  if (storage.per === undefined) return undefined;
  const want = n * storage.per;
  if (entries === want) return undefined;
  return `${what} but ${FIELD_NAMES[storage.field]} has ${entries}${storage.per === 1 ? '' : ` entries (${want} expected)`}.`;
}

/**
 * Refuses a model whose initializers or Constant values (the tensors the lens reads) store data that does not
 * match their dims: onnxruntime would refuse them too, but later and with a message that names no tensor.
 */
export function checkTensorData(model: onnx.IModelProto, file: string): void {
  const g = model.graph;
  const tensors = [...(g?.initializer ?? [])];
  for (const n of g?.node ?? []) {
    if (n.opType !== 'Constant') continue;
    for (const a of n.attribute ?? []) if (a.t) tensors.push(a.t);
  }
  for (const t of tensors) {
    const problem = tensorDataProblem(t);
    if (problem) throw new TensorDataError(file, t.name ?? '', problem);
  }
}

/** The data of a tensor, checked against its dims (for tensors not read through readModelFile). */
function checked(t: onnx.ITensorProto, file: string | undefined): void {
  const problem = tensorDataProblem(t);
  if (problem) throw new TensorDataError(file ?? 'the ONNX model', t.name ?? '', problem);
}

/**
 * A float tensor's values as Float32Array (float16 and double converted); undefined for other types and for data
 * still in an external file. Throws TensorDataError (naming `file`) when the data does not match the dims.
 */
export function floatData(t: onnx.ITensorProto, file?: string): Float32Array | undefined {
  if (t.dataLocation === EXTERNAL) return undefined;
  checked(t, file);
  const n = tensorSize(t);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  switch (t.dataType) {
    case DT.FLOAT:
      if (raw) {
        const out = new Float32Array(n);
        new Uint8Array(out.buffer).set(raw.subarray(0, n * 4));
        return out;
      }
      return Float32Array.from(t.floatData ?? []);
    case DT.DOUBLE:
      if (raw) {
        const copy = new Uint8Array(n * 8);
        copy.set(raw.subarray(0, n * 8));
        return Float32Array.from(new Float64Array(copy.buffer));
      }
      return Float32Array.from(t.doubleData ?? []);
    case DT.FLOAT16: {
      const out = new Float32Array(n);
      if (raw) {
        const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
        for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
      } else {
        // float16 without raw data lives in int32_data, one value per element.
        const d = t.int32Data ?? [];
        for (let i = 0; i < n; i++) out[i] = halfToFloat(d[i] ?? 0);
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** Integer tensor values (int64/int32/uint8/bool...) as numbers; undefined for float types and external data. */
export function intData(t: onnx.ITensorProto, file?: string): number[] | undefined {
  if (t.dataLocation === EXTERNAL) return undefined;
  checked(t, file);
  const n = tensorSize(t);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const dv = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const out: number[] = [];
  switch (t.dataType) {
    case DT.INT64:
      if (dv) for (let i = 0; i < n; i++) out.push(Number(dv.getBigInt64(i * 8, true)));
      else for (const v of t.int64Data ?? []) out.push(num(v as Int64));
      return out;
    case DT.INT32:
      if (dv) for (let i = 0; i < n; i++) out.push(dv.getInt32(i * 4, true));
      else out.push(...(t.int32Data ?? []));
      return out;
    case DT.UINT8:
    case DT.BOOL:
    case DT.INT8:
      if (raw) for (let i = 0; i < n; i++) out.push(t.dataType === DT.INT8 ? (raw[i] << 24) >> 24 : raw[i]);
      else out.push(...(t.int32Data ?? []));
      return out;
    default:
      return undefined;
  }
}

export function isFloatType(dataType: number | null | undefined): boolean {
  return dataType === DT.FLOAT || dataType === DT.FLOAT16 || dataType === DT.DOUBLE || dataType === DT.BFLOAT16;
}
