// The host's one handle on "the model": loads the built-in model folder lazily (with progress the
// first time), caches what the worker reports about it, adapts VS Code cancellation to AbortSignal,
// and turns failures into messages a person can act on.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Analysis, AnalyzeOptions, ChosenDetail, PcaMap } from '../protocol/analysis';
import type { ChosenParams, ModelInfo, PcaParams, RuntimeInfo } from '../protocol/worker';
import type { CompleteParams, CompleteResult } from '../protocol/completion';
import type { Logger } from '../core/common/logger';
import { CancelledError } from '../core/common/errors';
import { lostModel } from '../core/completion/pipeline';
import type { WorkerClient } from '../worker/client';
import { downloadIdentity } from '../core/hub/store';
import type { NeighboursParams, NeighboursResult, ScoreParams, ScoreResult } from '../protocol/score';
import type { OccludeParams, OccludeResult, WhyParams, WhyResult } from '../protocol/why';

/** Occlusion's progress, when the worker reports it: batches done of all. */
export type OccludeProgress = (done: number, total: number) => void;

/** The model the worker has loaded, as the host knows it: what it is, and which folder it came from. */
export interface CurrentModel extends ModelInfo {
  folder: string;
}

/** What the service needs from the worker; one adapter, so the rest of the host never names requests. */
export interface ModelBackend {
  /** @param who what ModelSpec.source and .name should say, e.g. source "built-in" */
  load(folder: string, who: { source?: string; name?: string }, signal?: AbortSignal): Promise<ModelInfo>;
  analyze(text: string, options: AnalyzeOptions, signal?: AbortSignal): Promise<Analysis>;
  chosen(params: ChosenParams, signal?: AbortSignal): Promise<ChosenDetail>;
  pca(params: PcaParams, signal?: AbortSignal): Promise<PcaMap>;
  score(params: ScoreParams, signal?: AbortSignal): Promise<ScoreResult>;
  neighbours(params: NeighboursParams, signal?: AbortSignal): Promise<NeighboursResult>;
  complete(params: CompleteParams, signal?: AbortSignal): Promise<CompleteResult>;
  why(params: WhyParams, signal?: AbortSignal): Promise<WhyResult>;
  occlude(params: OccludeParams, signal?: AbortSignal, onProgress?: OccludeProgress): Promise<OccludeResult>;
  runtimeInfo(): Promise<RuntimeInfo>;
  /** The worker ended (crash, restart): it no longer holds the model. */
  onWorkerStopped(listener: () => void): { dispose(): void };
}

export function workerBackend(client: WorkerClient): ModelBackend {
  return {
    load: (folder, who, signal) => client.request('loadModel', { folder, ...who }, signal),
    analyze: (text, options, signal) => client.request('analyze', { text, options }, signal),
    chosen: (params, signal) => client.request('chosen', params, signal),
    pca: (params, signal) => client.request('pca', params, signal),
    score: (params, signal) => client.request('score', params, signal),
    neighbours: (params, signal) => client.request('neighbours', params, signal),
    complete: (params, signal) => client.request('complete', params, signal),
    why: (params, signal) => client.request('why', params, signal),
    occlude: (params, signal, onProgress) => client.request('occlude', params, signal, { onProgress }),
    runtimeInfo: () => client.request('version', {}),
    onWorkerStopped: (listener) => client.onDidStop(listener),
  };
}

/** An AbortSignal that aborts when the token is cancelled; dispose it when the request ends. */
export function toAbortSignal(token: vscode.CancellationToken | undefined): { signal: AbortSignal | undefined; dispose(): void } {
  if (!token) return { signal: undefined, dispose() {} };
  const ac = new AbortController();
  if (token.isCancellationRequested) ac.abort();
  const sub = token.onCancellationRequested(() => ac.abort());
  return { signal: ac.signal, dispose: () => sub.dispose() };
}

export class ModelService implements vscode.Disposable {
  private loaded: CurrentModel | undefined;
  private loading: Promise<CurrentModel> | undefined;
  private chosenFolder: string | undefined;
  /** Bumped when the folder changes, so a load of the old folder that finishes late is dropped. */
  private generation = 0;
  private readonly didLoad = new vscode.EventEmitter<CurrentModel>();
  private readonly didChange = new vscode.EventEmitter<void>();
  /** Fires when a model has been loaded (first use, or after a reload). */
  readonly onDidLoad = this.didLoad.event;
  /** Fires when another model folder was chosen; the next use loads it. */
  readonly onDidChangeModel = this.didChange.event;

  constructor(
    private readonly backend: ModelBackend,
    private readonly extensionUri: vscode.Uri,
    private readonly log: Logger,
  ) {
    // Every surface (panels, hovers, highlighting, completions) loads the model again on its next use.
    this.workerSub = backend.onWorkerStopped(() => {
      if (this.loaded || this.loading) this.log.info('The inference worker stopped: the model loads again on next use.');
      this.reset();
    });
  }
  private readonly workerSub: { dispose(): void };

  /** The model shipped with the extension. */
  get builtinFolder(): string {
    return path.join(this.extensionUri.fsPath, 'models', 'lens-tiny');
  }

  /** The folder of the model in use: the chosen one, else the built-in one. */
  get folder(): string {
    return this.chosenFolder ?? this.builtinFolder;
  }

  /** Uses another model folder (undefined: the built-in one) from the next use on. */
  setFolder(folder: string | undefined): void {
    const next = folder && path.resolve(folder) !== path.resolve(this.builtinFolder) ? folder : undefined;
    if (next === this.chosenFolder) return;
    this.chosenFolder = next;
    this.reset();
    this.didChange.fire();
  }

  /** The loaded model, if any; never starts a load. */
  get current(): CurrentModel | undefined {
    return this.loaded;
  }

  /**
   * Loads the model on first use, with a progress notification; later calls share the same load.
   * The token only stops this caller waiting: a load others wait for goes on.
   */
  async ensureLoaded(token?: vscode.CancellationToken): Promise<CurrentModel> {
    if (this.loaded) return this.loaded;
    this.loading ??= this.load();
    if (!token) return this.loading;
    return new Promise<CurrentModel>((resolve, reject) => {
      const sub = token.onCancellationRequested(() => reject(new CancelledError()));
      this.loading!.then(resolve, reject).finally(() => sub.dispose());
    });
  }

  async analyze(text: string, options: AnalyzeOptions, token?: vscode.CancellationToken): Promise<Analysis> {
    const { signal, dispose } = toAbortSignal(token);
    const t0 = Date.now();
    try {
      const a = await this.withModel(() => this.backend.analyze(text, options, signal), token);
      this.log.debug(`analyze: ${a.tokens.length} tokens in ${Date.now() - t0} ms (run ${a.timings.runMs.toFixed(0)} ms)`);
      return a;
    } finally {
      dispose();
    }
  }

  /** Another token of the last analysis: its vectors, neighbours and logit lens, without a new run. */
  chosen(params: ChosenParams, signal?: AbortSignal): Promise<ChosenDetail> {
    return this.backend.chosen(params, signal);
  }

  /** The PCA map of another layer of the last analysis, from its kept hidden states, without a new run. */
  pca(params: PcaParams, signal?: AbortSignal): Promise<PcaMap> {
    return this.backend.pca(params, signal);
  }

  /** Why the model predicts what it does after a position (the Why tab); loads the model first. */
  async why(params: WhyParams, signal?: AbortSignal): Promise<WhyResult> {
    return this.withModel(() => {
      if (signal?.aborted) throw new CancelledError();
      return this.backend.why(params, signal);
    });
  }

  /** How much each context token matters to one prediction, by occluding it (the Why tab, "Why This Token?"). */
  async occlude(params: OccludeParams, signal?: AbortSignal, onProgress?: OccludeProgress): Promise<OccludeResult> {
    return this.withModel(() => {
      if (signal?.aborted) throw new CancelledError();
      return this.backend.occlude(params, signal, onProgress);
    });
  }

  /** Scores tokens for the editor surfaces (hover cards, surprisal highlighting); loads the model first. */
  async score(params: ScoreParams, signal?: AbortSignal): Promise<ScoreResult> {
    return this.withModel(() => {
      if (signal?.aborted) throw new CancelledError();
      return this.backend.score(params, signal);
    });
  }

  async neighbours(params: NeighboursParams, signal?: AbortSignal): Promise<NeighboursResult> {
    return this.withModel(() => {
      if (signal?.aborted) throw new CancelledError();
      return this.backend.neighbours(params, signal);
    });
  }

  /**
   * Runs a request with the model loaded; when the worker lost it in between (it crashed or restarted after the
   * load, before the request), loads it again and tries once more.
   */
  private async withModel<T>(request: () => Promise<T>, token?: vscode.CancellationToken): Promise<T> {
    await this.ensureLoaded(token);
    try {
      return await request();
    } catch (e) {
      if (!lostModel(e)) throw e;
      this.reset();
      await this.ensureLoaded(token);
      return request();
    }
  }

  /** An inline completion with the loaded model (the completion pipeline loads it first and handles a lost one). */
  complete(params: CompleteParams, signal?: AbortSignal): Promise<CompleteResult> {
    return this.backend.complete(params, signal);
  }

  /** What the worker reports about its inference runtime (the runtime panel, the start-up check, the tests). */
  runtimeInfo(): Promise<RuntimeInfo> {
    return this.backend.runtimeInfo();
  }

  /** Forgets the loaded model (e.g. when the worker restarted); the next use loads again. */
  reset(): void {
    this.generation++;
    this.loaded = undefined;
    this.loading = undefined;
  }

  dispose(): void {
    this.workerSub.dispose();
    this.didLoad.dispose();
    this.didChange.dispose();
  }

  private load(): Promise<CurrentModel> {
    const folder = this.folder;
    const generation = this.generation;
    const name = path.basename(folder);
    const started = Date.now();
    const p = vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('LLM Lens: loading the model "{0}"…', name) },
      async () => {
        const info = await this.backend.load(folder, folder === this.builtinFolder ? { source: 'built-in' } : downloadIdentity(folder));
        return { ...info, folder };
      },
    );
    return Promise.resolve(p).then(
      (m) => {
        if (generation !== this.generation) return this.ensureLoaded();
        this.loaded = m;
        this.log.info(`Loaded model ${m.spec.name} from ${folder} in ${Date.now() - started} ms: ${m.parameters.total} parameters, d=${m.spec.dModel}, ${m.spec.nLayer} layers, ${m.spec.nHead} heads; missing: ${m.instrumentation.missing.join(', ') || 'nothing'}`);
        this.didLoad.fire(m);
        return m;
      },
      (e: unknown) => {
        if (generation !== this.generation) return this.ensureLoaded();
        this.loading = undefined;
        this.log.error(e instanceof Error ? e : String(e));
        throw e;
      },
    );
  }
}
