// What every tab of the analysis panel gets: the data, the UI choices, strings, and the ways to change them.
import type { AnalysisUi, PanelAnalysis, PanelWhy } from '../protocol/webview';

export interface ViewCtx {
  data: PanelAnalysis;
  ui: AnalysisUi;
  s: Record<string, string>;
  /** Width available to charts, in CSS pixels. */
  width: number;
  attentionMissing?: string;
  /** The Why tab's answers for this analysis, when it asked for them. */
  why?: PanelWhy;
  /** Chooses a token everywhere (panel and editor). */
  choose(index: number): void;
  /** Changes a UI choice; the host keeps it and re-analyses when the data depends on it. */
  setUi(patch: Partial<AnalysisUi>): void;
  /** Arrow keys, Home and End on this element move the chosen token. */
  tokenKeys(el: HTMLElement): void;
}
