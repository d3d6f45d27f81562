// Turns the worker's Analysis into what the analysis panel draws: big matrices quantized to bytes,
// attention limited to one layer. No vscode import, so unit tests and the preview page use it too.
import type { Analysis } from '../protocol/analysis';
import type { Grid, PanelAnalysis } from '../protocol/webview';

/** Bytes of attention matrices one message may carry before heads other than the shown one are left out. */
export const ATTENTION_BYTE_BUDGET = 8 * 1024 * 1024;

export function encodeGrid(matrix: readonly (readonly number[])[], kind: Grid['kind'], max?: number): Grid {
  const rows = matrix.length;
  const cols = rows > 0 ? matrix[0].length : 0;
  let m = max ?? 0;
  if (max === undefined) {
    for (const row of matrix) for (const v of row) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  }
  if (!(m > 0)) m = 1;
  const bytes = new Uint8Array(rows * cols);
  let i = 0;
  for (const row of matrix) {
    for (let c = 0; c < cols; c++) {
      const v = row[c];
      const x = Number.isFinite(v) ? v / m : 0;
      bytes[i++] = kind === 'unsigned' ? Math.round(Math.min(1, Math.max(0, x)) * 255) : 128 + Math.round(Math.min(1, Math.max(-1, x)) * 127);
    }
  }
  return { rows, cols, kind, max: m, data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
}

export function norm(v: readonly number[]): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/**
 * @param layer the attention layer to send
 * @param head the head shown; always sent, with the average, even when the others do not fit
 * @param budget bytes of attention the message may carry before other heads are left out
 */
export function toPanelAnalysis(a: Analysis, seq: number, layer: number, head: number, budget = ATTENTION_BYTE_BUDGET): PanelAnalysis {
  const T = a.tokens.length;
  const ofLayer = a.attention.filter((m) => m.layer === layer);
  let attention: PanelAnalysis['attention'];
  if (ofLayer.length > 0) {
    const nHead = a.model.nHead;
    const fitsAll = T * T * (nHead + 1) <= budget;
    const heads: (Grid | null)[] = [];
    for (let h = 0; h < nHead; h++) {
      const m = ofLayer.find((x) => x.head === h);
      heads.push(m && (fitsAll || h === head) ? encodeGrid(m.weights, 'unsigned', 1) : null);
    }
    const avg = ofLayer.find((x) => x.head === -1);
    attention = { layer, heads, average: avg ? encodeGrid(avg.weights, 'unsigned', 1) : null };
  }
  return {
    seq,
    model: a.model,
    text: a.text,
    tokens: a.tokens,
    embeddings: encodeGrid(a.embeddings, 'signed'),
    inputNorms: a.embeddings.map(norm),
    embeddingNorms: a.embeddingNorms,
    hiddenNorms: a.hiddenNorms,
    layerCosine: a.layerCosine,
    logitLens: a.logitLens,
    predictions: a.predictions,
    similarity: encodeGrid(a.similarity, 'signed', 1),
    attention,
    thumbnails: a.attentionThumbnails?.map((layerThumbs) => layerThumbs.map((t) => encodeGrid(t, 'unsigned'))),
    chosen: a.chosen && { index: a.chosen.index, hidden: encodeGrid(a.chosen.hidden, 'signed'), neighbours: a.chosen.neighbours },
    pca: a.pca,
    timings: a.timings,
  };
}

/** Whether a payload made for (layer, head) already holds what (layer, head2) needs. */
export function hasHead(p: PanelAnalysis | undefined, layer: number, head: number): boolean {
  if (!p?.attention || p.attention.layer !== layer) return false;
  return head === -1 ? p.attention.average !== null : p.attention.heads[head] != null;
}

/** The token whose span holds the UTF-16 offset (the last one at the very end). */
export function tokenAt(a: Pick<Analysis, 'tokens'>, offset: number): number {
  const t = a.tokens;
  let lo = 0;
  let hi = t.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (t[mid].start <= offset) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(0, lo);
}
