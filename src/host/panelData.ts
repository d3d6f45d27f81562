// Turns the worker's Analysis into what the analysis panel draws: big matrices quantized to bytes,
// attention limited to one layer. No vscode import, so unit tests and the preview page use it too.
import { matrixRow, toMatrix, type Analysis, type AnalyzeOptions, type Matrix } from '../protocol/analysis';
import { settingDefault } from '../protocol/settings';
import type { AnalysisUi, ChosenPatch, Grid, PanelAnalysis, PcaPatch } from '../protocol/webview';
import type { Intervention } from '../protocol/why';

/** The llmLens.analysis.* settings an analysis request depends on. */
export interface AnalysisLimits {
  maxTokens: number;
  topK: number;
  neighbours: number;
}

/** Those settings at their defaults (the bench and the preview, which have no VS Code). */
export const analysisDefaults = (): AnalysisLimits => ({
  maxTokens: settingDefault<number>('llmLens.analysis.maxTokens'),
  topK: settingDefault<number>('llmLens.analysis.topK'),
  neighbours: settingDefault<number>('llmLens.analysis.neighbours'),
});


/**
 * Bytes of attention matrices one message may carry before heads other than the shown one are left out. 3 MiB:
 * every head of a 4-head layer up to ~790 tokens; above, the shown head and the average (a switch asks the host).
 * VS Code serializes each message to JSON on the extension host's thread: a 9 MiB message for 1024 tokens with
 * every head took it 30-40 ms.
 */
export const defaultUi = (): AnalysisUi => ({ tab: 'tokens', chosen: 0, showIds: false, colorBy: 'token', layer: 0, head: -1, pcaLayer: -1, pinned: false, whyTargets: [], whyInterventions: [], whyMode: 'zero' });

/** What the panel asks of the worker for these settings and choices (the bench's panels section asks the same). */
export function analyzeOptions(ui: AnalysisUi, nLayer: number, config: AnalysisLimits = analysisDefaults()): AnalyzeOptions {
  return {
    maxTokens: config.maxTokens,
    topK: config.topK,
    attentionLayers: [ui.layer],
    attentionThumbnails: true,
    chosenToken: ui.chosen,
    neighbours: config.neighbours,
    pcaLayer: pcaLayerOf(ui, nLayer),
    pca: panelWantsPca(ui),
  };
}

/**
 * Whether an analysis for this UI includes the PCA map: only while the embeddings tab, the one that draws it, shows
 * (about 10 ms of a 512-token analysis otherwise spent for nothing). Another tab gets it later from the worker's
 * kept run (see needsPca).
 */
export function panelWantsPca(ui: Pick<AnalysisUi, 'tab'>): boolean {
  return ui.tab === 'embeddings';
}

/** The PCA layer the panel shows: its choice, or the input embeddings when the model has fewer layers. */
export function pcaLayerOf(ui: Pick<AnalysisUi, 'pcaLayer'>, nLayer: number): number {
  return ui.pcaLayer <= nLayer ? ui.pcaLayer : -1;
}

/** Whether the panel shows a PCA map that this analysis lacks (never computed, or of another layer). */
export function needsPca(a: Pick<Analysis, 'pca' | 'model'>, ui: Pick<AnalysisUi, 'tab' | 'pcaLayer'>): boolean {
  return panelWantsPca(ui) && a.pca?.layer !== pcaLayerOf(ui, a.model.nLayer);
}

/** The message for a PCA map computed after its analysis; `seq` is the analysis' PanelAnalysis.seq. */
export function pcaPatch(seq: number, pca: NonNullable<Analysis['pca']>): PcaPatch {
  return { type: 'pca', seq, pca };
}

export const ATTENTION_BYTE_BUDGET = 3 * 1024 * 1024;

/** Quantizes a matrix (a Matrix, or number[][] for the small ones) to one byte per cell, base64. */
export function encodeGrid(matrix: Matrix | readonly (readonly number[])[], kind: Grid['kind'], max?: number): Grid {
  const { rows, cols, data } = 'data' in matrix ? matrix : toMatrix(matrix);
  let m = max ?? 0;
  if (max === undefined) {
    for (let i = 0; i < data.length; i++) {
      const a = Math.abs(data[i]);
      if (a > m && a !== Infinity) m = a;
    }
  }
  if (!(m > 0)) m = 1;
  const bytes = new Uint8Array(rows * cols);
  // One tight loop over the floats: a 1024 x 1024 matrix costs the host a few milliseconds.
  const inv = 1 / m;
  if (kind === 'unsigned') {
    for (let i = 0; i < bytes.length; i++) {
      const x = data[i] * inv;
      bytes[i] = x > 0 && x !== Infinity ? (x < 1 ? Math.round(x * 255) : 255) : 0;
    }
  } else {
    for (let i = 0; i < bytes.length; i++) {
      const x = data[i] * inv;
      // NaN and infinities (not finite before scaling) are drawn as zero, as the unsigned ones are.
      bytes[i] = Number.isFinite(x) ? 128 + Math.round((x > 1 ? 1 : x < -1 ? -1 : x) * 127) : 128;
    }
  }
  return { rows, cols, kind, max: m, data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
}

export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** Waits between the big pieces of a payload; the host passes a turn of its event loop (setImmediate). */
export type Pause = () => Promise<void>;
const noPause: Pause = () => Promise.resolve();

/**
 * @param layer the attention layer to send
 * @param head the head shown; always sent, with the average, even when the others do not fit
 * @param budget bytes of attention the message may carry before other heads are left out
 * @param pause awaited after each matrix (each up to a million cells, a few ms), so the host is never blocked for
 *   the whole payload (tens of ms for 1024 tokens)
 */
export async function toPanelAnalysis(a: Analysis, seq: number, layer: number, head: number, budget = ATTENTION_BYTE_BUDGET, pause: Pause = noPause): Promise<PanelAnalysis> {
  const T = a.tokens.length;
  const grid = async (...args: Parameters<typeof encodeGrid>): Promise<Grid> => {
    const g = encodeGrid(...args);
    await pause();
    return g;
  };
  const ofLayer = a.attention.filter((m) => m.layer === layer);
  let attention: PanelAnalysis['attention'];
  if (ofLayer.length > 0) {
    const nHead = a.model.nHead;
    const fitsAll = T * T * (nHead + 1) <= budget;
    const heads: (Grid | null)[] = [];
    for (let h = 0; h < nHead; h++) {
      const m = ofLayer.find((x) => x.head === h);
      heads.push(m && (fitsAll || h === head) ? await grid(m.weights, 'unsigned', 1) : null);
    }
    const avg = ofLayer.find((x) => x.head === -1);
    attention = { layer, heads, average: avg ? await grid(avg.weights, 'unsigned', 1) : null };
  }
  const embeddings = await grid(a.embeddings, 'signed');
  const similarity = await grid(a.similarity, 'signed', 1);
  return {
    seq,
    model: a.model,
    text: a.text,
    tokens: a.tokens,
    embeddings,
    inputNorms: Array.from({ length: a.embeddings.rows }, (_, i) => norm(matrixRow(a.embeddings, i))),
    embeddingNorms: a.embeddingNorms,
    hiddenNorms: a.hiddenNorms,
    layerCosine: a.layerCosine,
    logitLens: a.logitLens,
    predictions: a.predictions,
    similarity,
    attention,
    thumbnails: a.attentionThumbnails?.map((layerThumbs) => layerThumbs.map((t) => encodeGrid(t, 'unsigned'))),
    chosen: panelChosen(a.chosen),
    ...(a.pca ? { pca: a.pca } : {}),
    timings: a.timings,
  };
}

/** The message for another token chosen in the same analysis: its part of the payload, and its logit lens per layer. */
export function chosenPatch(seq: number, a: Analysis, index: number): ChosenPatch {
  return { type: 'chosen', seq, chosen: panelChosen(a.chosen)!, lens: a.logitLens.map((layer) => layer[index]) };
}

/** The chosen token's part of the payload: its vectors per layer quantized, its neighbours. */
export function panelChosen(c: Analysis['chosen']): PanelAnalysis['chosen'] {
  return c && { index: c.index, hidden: encodeGrid(c.hidden, 'signed'), neighbours: c.neighbours };
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

/**
 * The parts switched off that still mean something after a new analysis: a cut edge names two token positions of the
 * text it was cut in, so another text drops it (as a reload does, which cannot tell); a head or layer past the
 * model's own (another model) goes too.
 */
export function keptInterventions(list: Intervention[], now: { sameText: boolean; tokens: number; nLayer: number; nHead: number }): Intervention[] {
  return list.filter((iv) => (iv.kind === 'edge' ? now.sameText && iv.to < now.tokens : iv.layer < now.nLayer && (iv.kind !== 'head' || iv.head < now.nHead)));
}
