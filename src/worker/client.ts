// The host's handle on the inference worker: typed requests, cancellation, restart after a crash.
// No vscode import: the extension host, the CLI's bench and the tests all use it.
import { Worker } from 'node:worker_threads';
import {
  isWorkerToHostMessage,
  type WorkerParams,
  type WorkerRequestName,
  type WorkerResult,
  type WorkerStartOptions,
  type WireError,
  type HostToWorkerMessage,
} from '../protocol/worker';
import { CancelledError, LensError, WorkerCrashedError } from '../core/common/errors';
import type { Logger } from '../core/common/logger';
import { unpack } from '../protocol/pack';

interface Pending {
  onProgress?: (done: number, total: number) => void;
  resolve(v: unknown): void;
  reject(e: Error): void;
  cleanup(): void;
}

/** An error from the worker, rebuilt on this side with its code. */
export class RemoteError extends LensError {
  constructor(error: WireError) {
    super(error.code, error.message, error.details);
    if (error.stack) this.stack = error.stack;
  }
}

export interface RequestOptions {
  onProgress?: (done: number, total: number) => void;
}

export class WorkerClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private disposed = false;
  private readonly stopListeners = new Set<() => void>();

  constructor(
    private readonly workerFile: string,
    private readonly options: WorkerStartOptions,
    private readonly log: Logger,
  ) {}

  /** `options.onProgress` hears the worker's progress messages for this request (occlusion's batched runs). */
  request<K extends WorkerRequestName>(method: K, params: WorkerParams<K>, signal?: AbortSignal, options: RequestOptions = {}): Promise<WorkerResult<K>> {
    if (this.disposed) return Promise.reject(new LensError('disposed', 'LLM Lens is shutting down.'));
    if (signal?.aborted) return Promise.reject(new CancelledError());
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<WorkerResult<K>>((resolve, reject) => {
      const onAbort = () => this.post(worker, { type: 'cancel', id });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        onProgress: options.onProgress,
        resolve: resolve as (v: unknown) => void,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      });
      this.post(worker, { type: 'request', id, method, params });
    });
  }

  /** Ends the worker; pending requests fail. The next request starts a fresh one. */
  async restart(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.failAll(new LensError('restarted', 'The inference worker was restarted.'));
    if (w) this.stopped();
    await w?.terminate();
  }

  /**
   * Called when the worker ends (a crash, an exit, a restart): whatever it held, the loaded model included, is gone,
   * and the next request starts a fresh worker without one.
   */
  onDidStop(listener: () => void): { dispose(): void } {
    this.stopListeners.add(listener);
    return { dispose: () => this.stopListeners.delete(listener) };
  }

  private stopped(): void {
    for (const l of [...this.stopListeners]) {
      try {
        l();
      } catch (e) {
        this.log.error(e instanceof Error ? e : String(e));
      }
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.restart();
  }

  get running(): boolean {
    return this.worker !== undefined;
  }

  private post(worker: Worker, m: HostToWorkerMessage): void {
    worker.postMessage(m);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.workerFile, { workerData: this.options });
    this.worker = worker;
    worker.on('message', (m: unknown) => {
      if (!isWorkerToHostMessage(m)) {
        this.log.warn(`Ignored a malformed message from the worker: ${JSON.stringify(m)?.slice(0, 200)}`);
        return;
      }
      if (m.type === 'log') {
        this.log[m.level](m.message);
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'progress') {
        try {
          p.onProgress?.(m.done, m.total);
        } catch (e) {
          this.log.error(e instanceof Error ? e : String(e));
        }
        return;
      }
      this.pending.delete(m.id);
      p.cleanup();
      if (m.reply.ok && m.packed) unpack(m.reply.value, m.packed.buffers).then(p.resolve, p.reject);
      else if (m.reply.ok) p.resolve(m.reply.value);
      else p.reject(m.reply.error.code === 'cancelled' ? new CancelledError() : new RemoteError(m.reply.error));
    });
    worker.on('error', (e) => {
      this.log.error(e);
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      if (this.pending.size > 0) {
        this.log.error(`The inference worker exited with code ${code} while ${this.pending.size} request(s) were pending.`);
        this.failAll(new WorkerCrashedError(`exit code ${code}`));
      }
      this.stopped();
    });
    return worker;
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) {
      p.cleanup();
      p.reject(e);
    }
    this.pending.clear();
  }
}
