// Messages between the host's panel controller and the webviews. Each panel starts with `ready`.
import type { RuntimeInfo } from './worker';
import type { Analysis, InstrumentationReport, ModelSpec, ParameterBreakdown, PcaMap, Prediction } from './analysis';
import type { Intervention, OccludeResult, WhyResult } from './why';

export type ViewId = 'runtime' | 'analysis' | 'modelCard';

export type AnalysisTab = 'tokens' | 'embeddings' | 'layers' | 'attention' | 'why';
export const ANALYSIS_TABS: readonly AnalysisTab[] = ['tokens', 'embeddings', 'layers', 'attention', 'why'];

/** Candidate continuations the Why tab compares (the worker takes at most 4), and the length of each as typed. */
export const MAX_WHY_TARGETS = 4;
export const MAX_WHY_TARGET_CHARS = 200;
/** Context tokens occlusion removes one by one at most, the nearest to the prediction (the UI says so). */
export const OCCLUDE_CAP = 256;
/** Parts switched off at once; more is a mistake, not an experiment. */
export const MAX_INTERVENTIONS = 64;

/** What a person chose in the analysis panel; the host keeps it (and restores it after a reload). */
export interface AnalysisUi {
  tab: AnalysisTab;
  /** Index of the chosen token. */
  chosen: number;
  showIds: boolean;
  colorBy: 'token' | 'surprisal';
  /** Attention layer shown. */
  layer: number;
  /** Attention head shown; -1 is the average over heads. */
  head: number;
  /** -1: PCA of the input embeddings; otherwise of the hidden states entering that layer. */
  pcaLayer: number;
  /** When pinned the panel no longer follows the editor's selection. */
  pinned: boolean;
  /** Why tab: candidate continuations as typed (" Paris"), at most MAX_WHY_TARGETS. */
  whyTargets: string[];
  /** Why tab: parts of the model switched off (empty: the clean run). */
  whyInterventions: Intervention[];
  /** Why tab: how a clicked head or layer is switched off. */
  whyMode: 'zero' | 'mean';
}

/**
 * A matrix quantized to one byte per cell for the trip to the webview (a 1024 x 1024 attention
 * matrix is 1 MiB instead of ~10 MiB of JSON). 'unsigned': v = byte / 255 * max;
 * 'signed': v = (byte - 128) / 127 * max. Row-major, base64.
 */
export interface Grid {
  rows: number;
  cols: number;
  kind: 'unsigned' | 'signed';
  max: number;
  data: string;
}

/** The fields of the worker's Analysis that the panel takes as they are. */
type PanelAnalysisKept = Pick<Analysis, 'model' | 'text' | 'tokens' | 'embeddingNorms' | 'hiddenNorms' | 'layerCosine' | 'logitLens' | 'predictions' | 'pca' | 'timings'>;

/**
 * The analysis as the panel draws it: the worker's Analysis (derived from it by type, so a field added there is
 * either kept here or replaced on purpose) with its big matrices quantized to Grids.
 */
export interface PanelAnalysis extends PanelAnalysisKept {
  /** Changes with every analysis the host receives. */
  seq: number;
  /** Input embeddings (token + position), [T][d]. */
  embeddings: Grid;
  /** Norm of each input embedding row (exact, before quantization). */
  inputNorms: number[];
  similarity: Grid;
  /** The attention of one layer: each head (null when left out to keep the message small) and the average. */
  attention?: { layer: number; heads: (Grid | null)[]; average: Grid | null };
  /** [L][H] small matrices for the model view. */
  thumbnails?: Grid[][];
  chosen?: PanelChosen;
}

/** The chosen token's own data as the panel draws it: Analysis['chosen'] with its vectors quantized. */
export interface PanelChosen extends Omit<NonNullable<Analysis['chosen']>, 'hidden'> {
  hidden: Grid;
}

/** Analysis fields the panel does not take as they are: each is quantized above, or not sent (runId stays on the host). */
type PanelAnalysisReplaced = 'runId' | 'embeddings' | 'similarity' | 'attention' | 'attentionThumbnails' | 'chosen';
type NoneLeft<T extends never> = T;
/** Fails to compile when Analysis gains a field that is neither kept nor replaced. */
export type PanelAnalysisCoversAnalysis = NoneLeft<Exclude<keyof Analysis, keyof PanelAnalysisKept | PanelAnalysisReplaced>>;

/** What the analysis panel shows instead of charts, and the action that helps. */
export interface PanelNotice {
  kind: 'info' | 'error';
  message: string;
  action?: { label: string; command: PanelCommand };
}

export type PanelCommand = 'refresh' | 'analyzeSelection' | 'showModelCard' | 'showLog' | 'openSettings';
const PANEL_COMMANDS: readonly PanelCommand[] = ['refresh', 'analyzeSelection', 'showModelCard', 'showLog', 'openSettings'];

export interface AnalysisState {
  view: 'analysis';
  strings: Record<string, string>;
  locale: string;
  ui: AnalysisUi;
  busy: boolean;
  notice?: PanelNotice;
  /** Where the text came from, e.g. "app.ts:12-18"; stale once the document changed under it. */
  source?: { label: string; stale: boolean };
  data?: PanelAnalysis;
  /** Set when the model's graph has no attention probabilities the core could find. */
  attentionMissing?: string;
  /** The `seq` of the last choose/setUi message the host applied: the webview keeps newer choices of its own. */
  ackSeq: number;
  /** The Why tab's answers for this analysis (absent until the tab asked for them). */
  why?: PanelWhy;
}

/** The Why tab's answers: the last `why` request's result and the last occlusion, with what each was asked. */
export interface PanelWhy {
  /** The analysis (PanelAnalysis.seq) these answers belong to: a patch for an older one is dropped. */
  seq: number;
  /** whyKey() of the request the result answers: the tab draws it as current only while the UI still asks the same. */
  key: string;
  busy: boolean;
  result?: WhyResult;
  error?: string;
  occlusion?: PanelOcclusion;
  /**
   * The kinds of part this model's graph cannot switch off, each with why in the instrumentation's words ('' when it
   * did not say): a fused attention cannot cut edges, a quantized projection may hide its heads.
   */
  unavailable?: Partial<Record<Intervention['kind'], string>>;
}

export interface PanelOcclusion {
  /** The prediction it watched: after token `position`, of `target` (undefined: the model's top token). */
  position: number;
  target?: string;
  running: boolean;
  /** Batches done of all, when the worker reports progress; absent: progress unknown. */
  progress?: { done: number; total: number };
  /** At most this many context tokens are occluded (the nearest to the prediction). */
  cap: number;
  result?: OccludeResult;
  error?: string;
  cancelled?: boolean;
}

/** What a Why result answers: the prediction after `chosen`, the candidates, the parts switched off. */
export function whyKey(ui: Pick<AnalysisUi, 'chosen' | 'whyTargets' | 'whyInterventions'>): string {
  return JSON.stringify([ui.chosen, ui.whyTargets, ui.whyInterventions]);
}

/** The same part switched off (the mode aside): clicking it again switches it back on. */
export function samePart(a: Intervention, b: Intervention): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'edge' && b.kind === 'edge') return a.from === b.from && a.to === b.to;
  if (a.kind === 'head' && b.kind === 'head') return a.layer === b.layer && a.head === b.head;
  return (a as { layer: number }).layer === (b as { layer: number }).layer;
}

const isSmallIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 1_000_000;

export function isIntervention(v: unknown): v is Intervention {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  const mode = o.mode === 'zero' || o.mode === 'mean';
  switch (o.kind) {
    case 'head':
      return keys === 'head,kind,layer,mode' && isSmallIndex(o.layer) && isSmallIndex(o.head) && mode;
    case 'attention':
    case 'mlp':
      return keys === 'kind,layer,mode' && isSmallIndex(o.layer) && mode;
    case 'edge':
      return keys === 'from,kind,to' && isSmallIndex(o.from) && isSmallIndex(o.to);
    default:
      return false;
  }
}

export interface ModelCardRow {
  /** Key into the strings: tokenEmbedding, positionEmbedding, attention, mlp, layerNorms, finalNorm, lmHead, other. */
  part: string;
  formula?: string;
  /** The formula with this model's numbers, e.g. "4·128² + 4·128". */
  formulaFilled?: string;
  /** True when the formula gives exactly the counted parameters. */
  formulaMatches?: boolean;
  /** The LM head reuses the token embedding matrix: no parameters of its own. */
  tied?: boolean;
  /** Parameters in one layer, for per-layer parts. */
  perLayer?: number;
  layers?: number;
  weights: number;
  biases: number;
  total: number;
  share: number;
}

export interface ModelCardState {
  view: 'modelCard';
  strings: Record<string, string>;
  locale: string;
  busy: boolean;
  notice?: PanelNotice;
  card?: {
    spec: ModelSpec;
    parameters: ParameterBreakdown;
    instrumentation: InstrumentationReport;
    rows: ModelCardRow[];
    /** Plain-language paragraphs, already filled with this model's numbers. */
    concepts: { title: string; text: string }[];
    /** What instrumentation found ([label, detail]) and what it missed. */
    found: [string, string][];
    missing: string[];
    /** The whole-model formula with its numbers, and whether it gives the counted total. */
    total?: { formula: string; matches: boolean };
    /** Initializers that are not parameters (masks, shapes), said so they are not mistaken for missing ones. */
    constantsNote?: string;
  };
}

/** `why`: the runtime's reason in the display language (info.backendReason is the English one). */
export type RuntimeState = { view: 'runtime'; info: RuntimeInfo | undefined; why?: string; error?: string; strings: Record<string, string> };

export type ViewState = RuntimeState | AnalysisState | ModelCardState;

/** webview -> host, every panel: the handshake, the notice's buttons, the page's own errors. */
export type CommonWebviewMessage =
  | { type: 'ready' }
  | { type: 'command'; command: PanelCommand }
  | { type: 'log'; level: 'warn' | 'error'; message: string };

/** webview -> host, the analysis panel. */
export type AnalysisWebviewMessage =
  | CommonWebviewMessage
  /** A token was chosen in the panel; the host reveals it in the editor. `seq` counts the panel's choices. */
  | { type: 'choose'; index: number; seq?: number }
  | { type: 'setUi'; ui: Partial<AnalysisUi>; seq?: number }
  /** Why tab: colour the context by occlusion for the prediction after the chosen token (of the first candidate). */
  | { type: 'occlude' }
  | { type: 'cancelOcclude' };

/** What each panel's webview may send; the host rejects anything else from it. */
export type WebviewMessageFor<V extends ViewId> = V extends 'analysis' ? AnalysisWebviewMessage : CommonWebviewMessage;
export type WebviewToHostMessage = WebviewMessageFor<ViewId>;

export type StateFor<V extends ViewId> = Extract<ViewState, { view: V }>;

/** host -> webview, every panel. */
type CommonHostMessage = { type: 'error'; message: string } | { type: 'busy'; busy: boolean };

/**
 * Another token chosen in the same analysis: only its own data, not the whole state (which carries attention
 * matrices of up to 3 MiB). `seq` is the analysis' PanelAnalysis.seq: a patch for an older analysis is dropped.
 */
export interface ChosenPatch {
  type: 'chosen';
  seq: number;
  chosen: PanelChosen;
  /** [L+1][k]: the logit lens of the chosen token at each layer (logitLens[l][chosen.index]). */
  lens: Prediction[][];
}

/**
 * The PCA map of an analysis that came without it (the embeddings tab was not showing) or of another layer, computed
 * afterwards from the worker's kept run. `seq` as in ChosenPatch: a map for an older analysis is dropped.
 */
export interface PcaPatch {
  type: 'pca';
  seq: number;
  pca: PcaMap;
}

/** The Why tab's answers changed (a result, an error, occlusion's progress): the whole of them, small, not the state. */
export interface WhyPatch {
  type: 'why';
  why: PanelWhy;
}

/** host -> webview, the analysis panel. */
export type AnalysisHostMessage =
  | CommonHostMessage
  | { type: 'init'; view: 'analysis'; state: AnalysisState }
  /** A token was chosen in the editor. */
  | { type: 'choose'; index: number }
  | ChosenPatch
  | PcaPatch
  | WhyPatch;

/** What the host may send to each panel's webview. */
export type HostMessageFor<V extends ViewId> = V extends 'analysis' ? AnalysisHostMessage : CommonHostMessage | { type: 'init'; view: V; state: StateFor<V> };
export type HostToWebviewMessage = HostMessageFor<ViewId>;

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= -1 && v <= 1_000_000;

const isSeq = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);

/** Checks each field a webview may set; anything unknown or mistyped rejects the whole message. */
export function isAnalysisUiPatch(v: unknown): v is Partial<AnalysisUi> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  for (const [k, x] of Object.entries(v)) {
    switch (k) {
      case 'tab':
        if (!ANALYSIS_TABS.includes(x as AnalysisTab)) return false;
        break;
      case 'chosen':
      case 'layer':
        // Token and layer indices start at 0 (a saved -1 would break the panel after a reload).
        if (!isIndex(x) || x < 0) return false;
        break;
      case 'head':
      case 'pcaLayer':
        if (!isIndex(x)) return false;
        break;
      case 'showIds':
      case 'pinned':
        if (typeof x !== 'boolean') return false;
        break;
      case 'colorBy':
        if (x !== 'token' && x !== 'surprisal') return false;
        break;
      case 'whyTargets':
        if (!Array.isArray(x) || x.length > MAX_WHY_TARGETS || !x.every((t) => typeof t === 'string' && t.length > 0 && t.length <= MAX_WHY_TARGET_CHARS)) return false;
        break;
      case 'whyInterventions':
        if (!Array.isArray(x) || x.length > MAX_INTERVENTIONS || !x.every(isIntervention)) return false;
        break;
      case 'whyMode':
        if (x !== 'zero' && x !== 'mean') return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A log line from a webview is bounded: a page cannot flood the output channel. */
export const MAX_WEBVIEW_LOG_CHARS = 2000;

/** Whether `m` is a message the webview of `view` may send; analysis-only messages from another panel are not. */
export function isWebviewToHostMessage<V extends ViewId>(m: unknown, view: V): m is WebviewMessageFor<V> {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  switch (o.type) {
    case 'ready':
      return true;
    case 'command':
      return PANEL_COMMANDS.includes(o.command as PanelCommand);
    case 'log':
      return (o.level === 'warn' || o.level === 'error') && typeof o.message === 'string' && o.message.length <= MAX_WEBVIEW_LOG_CHARS;
    case 'choose':
      return view === 'analysis' && isIndex(o.index) && o.index >= 0 && isSeq(o.seq);
    case 'setUi':
      return view === 'analysis' && isAnalysisUiPatch(o.ui) && isSeq(o.seq);
    case 'occlude':
    case 'cancelOcclude':
      return view === 'analysis' && Object.keys(o).length === 1;
    default:
      return false;
  }
}
