// activate(): builds the services, registers every surface, pushes every disposable. No logic of its own.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { createLog, showError, showWarning } from './host/log';
import { NativeGuard } from './host/nativeGuard';
import { AnalysisSettings, CompletionSettings, EditorSettings, ModelSettings, RuntimeSettings } from './host/settings';
import { PanelController, type AnyPanelView } from './host/panelController';
import { runtimePanel } from './host/runtimePanel';
import { ModelService, workerBackend } from './host/modelService';
import { AnalysisPanel, type AnalysisSummary, type AnalyzeRequest } from './host/analysis/analysisPanel';
import { ModelCardPanel } from './host/modelCardPanel';
import { ModelPicker, type SelectModelArgs } from './host/models/modelPicker';
import { ModelStatusBar } from './host/modelStatusBar';
import { TokenScores } from './host/tokenScores';
import { TokenHoverProvider, analyzeTokenInPanel } from './host/hoverProvider';
import { SurprisalHighlighter, type SurprisalSnapshot } from './host/surprisalHighlighter';
import { WhyDecorations, type WhySnapshot } from './host/whyDecorations';
import { CompletionStatusBar } from './host/completionStatusBar';
import { CompletionProvider, type CompletionStats } from './host/completionProvider';
import { SuggestionDocuments } from './host/explainSuggestion';
import { Samples } from './host/samples';
import { WorkerClient } from './worker/client';
import { isWebviewToHostMessage, type ViewId } from './protocol/webview';
import type { RuntimeInfo } from './protocol/worker';
import { errorMessage } from './core/common/errors';
import { COMMANDS, INTERNAL_COMMANDS } from './host/commands';

export interface LlmLensApi {
  /** For the integration tests: asks the worker of the installed extension for its runtime info. */
  runtimeInfo(): Promise<RuntimeInfo>;
  /** For the integration tests: what inline completions did so far. */
  completionStats(): CompletionStats;
  /** For the integration tests: ends the inference worker as a crash would (the next request starts a fresh one). */
  restartWorker(): Promise<void>;
  /** For the integration tests: what surprisal highlighting drew last. */
  surprisalState(): SurprisalSnapshot;
  /** For the integration tests: what the analysis panel shows, read on the host side. */
  analysisSummary(): AnalysisSummary;
  /**
   * For the integration tests: a message to the analysis panel's host side as if its webview had sent it (checked
   * like one); resolves when the host has handled it.
   */
  analysisMessage(message: unknown): Promise<void>;
  /** For the integration tests: what "Why This Token?" shows in the editor. */
  whyState(): WhySnapshot;
}

export function activate(context: vscode.ExtensionContext): LlmLensApi {
  const { channel, logger } = createLog();
  const config = new RuntimeSettings();
  const dist = path.join(context.extensionUri.fsPath, 'dist');
  const guard = new NativeGuard(context.globalStorageUri.fsPath);
  let backend = config.backend;
  const nativeCrashed = backend !== 'web' && guard.crashedBefore();
  if (nativeCrashed) {
    backend = 'web';
    const again = vscode.l10n.t('Try Native Again');
    void showWarning(vscode.l10n.t('LLM Lens runs on WebAssembly this time: the last time it loaded its native runtime, VS Code’s extension host stopped.'), again).then(
      (choice) => choice === again && vscode.commands.executeCommand(COMMANDS.tryNativeRuntime),
    );
  }
  if (backend !== 'web') guard.begin();
  const client = new WorkerClient(path.join(dist, 'worker.js'), { wasmDir: dist, numThreads: config.threads, backend, nativeCrashed }, logger);
  const models = new ModelService(workerBackend(client), context.extensionUri, logger);
  const analysis = new AnalysisPanel(models, new AnalysisSettings(), context.workspaceState, logger);
  const modelCard = new ModelCardPanel(models, logger);
  const views = new Map<ViewId, AnyPanelView>([
    ['runtime', runtimePanel(models)],
    ['analysis', analysis],
    ['modelCard', modelCard],
  ]);
  const panels = new PanelController(context.extensionUri, logger, views);
  /** The one way into the analysis panel: the command, the hover's link, Explain This Suggestion, the samples. */
  const analyzeInPanel = (req?: AnalyzeRequest): Promise<void> => {
    const run = req ? analysis.analyze(req) : analysis.analyzeEditor();
    panels.show('analysis', true);
    return run;
  };
  const picker = new ModelPicker(context, new ModelSettings(), models, channel, logger);
  const editorConfig = new EditorSettings();
  const scores = new TokenScores(models, editorConfig, logger);
  const surprisal = new SurprisalHighlighter(scores, editorConfig, logger, models);
  const why = new WhyDecorations(models, scores, logger);

  const completionStatus = new CompletionStatusBar();
  const completions = new CompletionProvider(models, models, new CompletionSettings(), completionStatus, logger);
  const suggestionDocs = new SuggestionDocuments();

  context.subscriptions.push(
    channel,
    panels,
    analysis,
    modelCard,
    models,
    picker,
    new ModelStatusBar(models),
    scores,
    surprisal,
    why,
    vscode.languages.registerHoverProvider('*', new TokenHoverProvider(scores, editorConfig, logger)),
    vscode.commands.registerCommand(COMMANDS.toggleSurprisal, () => surprisal.toggle()),
    vscode.commands.registerCommand(COMMANDS.whyThisToken, () => why.run()),
    vscode.commands.registerCommand(COMMANDS.clearWhy, () => why.clear()),
    vscode.commands.registerCommand(INTERNAL_COMMANDS.analyzeToken, (args: unknown) => analyzeTokenInPanel(args, analyzeInPanel, logger)),
    { dispose: () => void client.dispose() },
    completionStatus,
    completions,
    suggestionDocs,
    vscode.commands.registerCommand(COMMANDS.toggleCompletions, () => completions.toggle()),
    vscode.commands.registerCommand(COMMANDS.explainSuggestion, () => suggestionDocs.explain(completions.lastSuggestion, analyzeInPanel)),
    vscode.commands.registerCommand(COMMANDS.showRuntimeInfo, () => panels.show('runtime')),
    vscode.commands.registerCommand(COMMANDS.analyzeSelection, () => analyzeInPanel()),
    vscode.commands.registerCommand(COMMANDS.showModelCard, () => panels.show('modelCard')),
    vscode.commands.registerCommand(COMMANDS.selectModel, (args?: SelectModelArgs) => picker.selectModel(args)),
    vscode.commands.registerCommand(COMMANDS.manageModels, () => picker.manageModels()),
    vscode.commands.registerCommand(COMMANDS.showLog, () => channel.show()),
    vscode.commands.registerCommand(COMMANDS.tryNativeRuntime, async () => {
      guard.clear();
      await vscode.commands.executeCommand('workbench.action.reloadWindow');
    }),
    new Samples(context.extensionUri, context.globalStorageUri, { analyze: analyzeInPanel, showTab: (tab) => analysis.showTab(tab) }),
  );

  // llmLens.model names the folder; nothing loads until first use.
  void picker.applySetting();

  // Start-up check of the runtime in the background: a missing wasm file is reported once, clearly.
  models.runtimeInfo().then(
    (info) => {
      // The worker answered: a native load, if there was one, did not take the extension host down.
      guard.clear();
      logger.info(`${info.backend === 'native' ? 'onnxruntime-node' : 'onnxruntime-web'} ${info.onnxruntimeVersion} ready (${info.numThreads} threads, ${info.sessionCreateMs.toFixed(0)} ms): ${info.backendReason}`);
    },
    (e: unknown) => {
      guard.clear();
      logger.error(e instanceof Error ? e : String(e));
      void showError(channel, vscode.l10n.t('LLM Lens could not start its inference runtime: {0}', errorMessage(e)));
    },
  );

  return {
    surprisalState: () => surprisal.state(),
    runtimeInfo: () => models.runtimeInfo(), completionStats: () => completions.stats(), restartWorker: () => client.restart(),
    analysisSummary: () => analysis.summary(),
    analysisMessage: async (m: unknown) => {
      if (!isWebviewToHostMessage(m, 'analysis')) throw new Error(`not a message of the analysis panel: ${JSON.stringify(m)?.slice(0, 200)}`);
      await analysis.onMessage(m);
    },
    whyState: () => why.state(),
  };
}

export function deactivate(): void {}
