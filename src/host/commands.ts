// Every command id, context key and URI scheme of the extension, named once. The public commands are the ones
// package.json contributes (a unit test keeps the two lists equal); the others are run by links, hovers and tests.
export const COMMANDS = {
  analyzeSelection: 'llmLens.analyzeSelection',
  showModelCard: 'llmLens.showModelCard',
  showRuntimeInfo: 'llmLens.showRuntimeInfo',
  showLog: 'llmLens.showLog',
  selectModel: 'llmLens.selectModel',
  manageModels: 'llmLens.manageModels',
  toggleSurprisal: 'llmLens.toggleSurprisal',
  toggleCompletions: 'llmLens.toggleCompletions',
  explainSuggestion: 'llmLens.explainSuggestion',
  whyThisToken: 'llmLens.whyThisToken',
  clearWhy: 'llmLens.clearWhy',
  openSample: 'llmLens.openSample',
  tryNativeRuntime: 'llmLens.tryNativeRuntime',
} as const;

/** Commands not in the Command Palette: hover links, the walkthrough's buttons, VS Code's accept callback. */
export const INTERNAL_COMMANDS = {
  analyzeToken: 'llmLens.analyzeToken',
  completionAccepted: 'llmLens.completionAccepted',
  tryCompletion: 'llmLens.tryCompletion',
  showTokens: 'llmLens.showTokens',
  showEmbeddings: 'llmLens.showEmbeddings',
  showLayers: 'llmLens.showLayers',
  showAttention: 'llmLens.showAttention',
  /** The Why tab (the integration tests; no walkthrough step). */
  showWhy: 'llmLens.showWhy',
} as const;

export const CONTEXT_KEYS = {
  surprisalOn: 'llmLens.surprisalOn',
  /** The editor shows "Why This Token?" colours (Escape clears them). */
  whyShown: 'llmLens.whyShown',
} as const;

/** Read-only documents holding an inline suggestion with its prompt, for "Explain This Suggestion". */
export const SUGGESTION_SCHEME = 'llmlens-suggestion';

/** Settings that messages and buttons point at. */
export const SETTINGS = {
  analysisMaxTokens: 'llmLens.analysis.maxTokens',
  runtimeBackend: 'llmLens.runtime.backend',
} as const;
