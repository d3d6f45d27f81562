// Whether an ONNX graph is a merged decoder, judged from the graph and not from its file name: Optimum merges the
// decoders with and without past key/values into one graph whose `use_cache_branch` input picks an If branch, and
// the layers (with the softmaxes and the LM head the lens instruments) live inside those branches. Some files named
// decoder_model_merged hold a plain graph, and a merged graph can be called model.onnx.
import * as fs from 'node:fs';
import type { onnx } from 'onnx-proto';
import { ModelTooLargeError } from '../model/errors';
import { decodeModel } from './proto';

/** The input Optimum's merged decoders take to choose the branch with or without past key/values. */
export const USE_CACHE_BRANCH = 'use_cache_branch';

/**
 * What makes this model a merged decoder, as short phrases for a message (a `use_cache_branch` input, If nodes in
 * the main graph); empty for a plain graph. Only the main graph's own nodes count: If nodes inside a subgraph are
 * the subgraph's business.
 */
export function mergedDecoderEvidence(model: onnx.IModelProto): string[] {
  const g = model.graph;
  const evidence: string[] = [];
  if ((g?.input ?? []).some((i) => i.name === USE_CACHE_BRANCH)) evidence.push(`a "${USE_CACHE_BRANCH}" input`);
  const ifs = (g?.node ?? []).filter((n) => n.opType === 'If' && (!n.domain || n.domain === 'ai.onnx')).length;
  if (ifs) evidence.push(`${ifs} If node${ifs === 1 ? '' : 's'} in its main graph`);
  return evidence;
}

/**
 * Graphs up to this size are decoded whole to judge them. This runs in the extension host (the download), where
 * decoding hundreds of MB of protobuf would block the editor for seconds: a larger file is scanned as a stream
 * for the `use_cache_branch` input name instead, which every Optimum merged decoder has.
 */
const DECODE_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Reads an ONNX file's graph (not its external data, which need not be there yet) and returns the evidence that it
 * is a merged decoder; empty for a plain graph. Throws ModelFormatError for bytes that are not an ONNX model and
 * ModelTooLargeError past `maxBytes`.
 */
export async function readMergedDecoderEvidence(file: string, maxBytes: number): Promise<string[]> {
  const size = (await fs.promises.stat(file)).size;
  if (size > maxBytes) throw new ModelTooLargeError(file, size, maxBytes);
  if (size > DECODE_MAX_BYTES) return (await streamContains(file, Buffer.from(USE_CACHE_BRANCH))) ? [`a "${USE_CACHE_BRANCH}" input`] : [];
  return mergedDecoderEvidence(decodeModel(await fs.promises.readFile(file), file));
}

/** Whether the file's bytes contain `needle`, read as a stream (the event loop turns between chunks). */
async function streamContains(file: string, needle: Buffer): Promise<boolean> {
  let tail = Buffer.alloc(0);
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf = Buffer.concat([tail, chunk as Buffer]);
    if (buf.includes(needle)) return true;
    tail = buf.subarray(Math.max(0, buf.length - needle.length + 1));
  }
  return false;
}
