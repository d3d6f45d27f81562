// What happens to a completion request between the editor and the worker, without VS Code: the suggestion cache
// (exact repeats and typing through), the debounce, and one generation at a time (a newer request cancels the older).
// The VS Code provider and the benchmark both run it, so the benchmark measures the real path.
import type { CompleteOptions, CompleteParams, CompleteResult } from '../../protocol/completion';
import { CancelledError, isCancelled, LensError } from '../common/errors';
import { SuggestionCache } from './cache';

export interface CompletionBackend {
  complete(params: CompleteParams, signal: AbortSignal): Promise<CompleteResult>;
}

export interface PipelineRequest {
  prefix: string;
  suffix: string;
  options: CompleteOptions;
  /** Milliseconds to wait for more keystrokes before running the model (a cache hit does not wait). */
  debounceMs?: number;
}

export interface PipelineResult {
  /** The suggestion; '' for none. */
  text: string;
  /** Answered by the suggestion cache, without the model. */
  cached: boolean;
  /** Characters of a cached suggestion already typed through (0 for an exact hit or a model run). */
  typed: number;
  /** From the request to the answer, debounce excluded. */
  latencyMs: number;
  /** The worker's answer, when the model ran. */
  result?: CompleteResult;
}

export interface PipelineStats {
  requests: number;
  cacheHits: number;
  modelRuns: number;
  /** Requests that ended without an answer: superseded by a newer one, or cancelled by the caller. */
  cancelled: number;
  /** The most model requests this side had waiting for the worker at once (superseded ones included until they end). */
  maxWaiting: number;
}

export class CompletionPipeline {
  private current: AbortController | undefined;
  private waiting = 0;
  private readonly counters: PipelineStats = { requests: 0, cacheHits: 0, modelRuns: 0, cancelled: 0, maxWaiting: 0 };

  constructor(
    private readonly backend: CompletionBackend,
    private readonly cache = new SuggestionCache(64),
    /** Told when the model starts and stops working for this pipeline (the status bar). */
    private readonly onBusy?: (busy: boolean) => void,
  ) {}

  get stats(): PipelineStats {
    return { ...this.counters };
  }

  /** Forgets cached suggestions (another model, other settings). */
  clearCache(): void {
    this.cache.clear();
  }

  /** Cancels the request in flight, if any. */
  cancel(): void {
    this.current?.abort();
  }

  /** The suggestion for a cursor, or undefined when the request was cancelled or superseded. */
  async request(req: PipelineRequest, signal?: AbortSignal): Promise<PipelineResult | undefined> {
    this.counters.requests++;
    const t0 = performance.now();
    const key = cacheKey(req.options);
    const hit = this.cache.get(req.prefix, req.suffix, key);
    if (hit) {
      this.counters.cacheHits++;
      return { text: hit.text, cached: true, typed: hit.typed, latencyMs: performance.now() - t0 };
    }
    // One generation at a time: this request supersedes the one before it.
    this.current?.abort();
    const ac = new AbortController();
    this.current = ac;
    const onAbort = () => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) ac.abort();
    try {
      if (req.debounceMs && req.debounceMs > 0) await sleep(req.debounceMs, ac.signal);
      if (ac.signal.aborted) throw new CancelledError();
      const t1 = performance.now();
      this.counters.modelRuns++;
      this.waiting++;
      this.counters.maxWaiting = Math.max(this.counters.maxWaiting, this.waiting);
      this.onBusy?.(true);
      let result: CompleteResult;
      try {
        result = await this.backend.complete({ prefix: req.prefix, suffix: req.suffix, options: req.options }, ac.signal);
      } finally {
        this.waiting--;
        if (this.current === ac || this.waiting === 0) this.onBusy?.(false);
      }
      // A suggestion cut short by the time budget says more about the machine's load than about the text: not kept.
      if (result.stopReason !== 'time') this.cache.set(req.prefix, req.suffix, result.text, key);
      if (ac.signal.aborted) throw new CancelledError();
      return { text: result.text, cached: false, typed: 0, latencyMs: performance.now() - t1, result };
    } catch (e) {
      if (isCancelled(e)) {
        this.counters.cancelled++;
        return undefined;
      }
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (this.current === ac) this.current = undefined;
    }
  }
}

/**
 * The worker lost its model (it crashed and restarted, or never loaded one): the caller shows nothing this time and
 * loads the model again, so that the next request works.
 */
export function lostModel(e: unknown): boolean {
  return e instanceof LensError && (e.code === 'workerCrashed' || e.code === 'restarted' || e.code === 'noModel');
}

function cacheKey(o: CompleteOptions): string {
  return JSON.stringify([o.prefixTokens, o.suffixTokens, o.maxTokens, o.mode, o.fim, o.raw, o.heal]);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
