// What the analysis panel keeps across a window reload: the text (not the analysis, which is run again) and the
// panel's choices. Read back defensively: a workspace's storage can hold anything an older version wrote.
import type * as vscode from 'vscode';
import { isAnalysisUiPatch, type AnalysisUi } from '../../protocol/webview';
import { defaultUi } from '../panelData';
import type { Source } from './source';

const MEMENTO_KEY = 'llmLens.analysis.last';

interface Persisted {
  source?: Source;
  ui: AnalysisUi;
}

export function loadPersisted(memento: vscode.Memento): { source?: Source; ui: AnalysisUi } {
  const saved = memento.get<Partial<Persisted>>(MEMENTO_KEY);
  const ui = { ...defaultUi(), ...(isAnalysisUiPatch(saved?.ui) ? saved.ui : {}) };
  const s = saved?.source;
  const source = s && typeof s.uri === 'string' && typeof s.text === 'string' && Number.isInteger(s.offset) && typeof s.label === 'string' ? { ...s, stale: !!s.stale } : undefined;
  return { source, ui };
}

export function savePersisted(memento: vscode.Memento, source: Source | undefined, ui: AnalysisUi): void {
  void memento.update(MEMENTO_KEY, { source, ui } satisfies Persisted);
}
