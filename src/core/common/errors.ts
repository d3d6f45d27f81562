// core/common/: what every part of the core shares (errors, logger, LRU, seeded random, thread counts).
// Typed errors with messages a person can act on; the host picks actions by `code`, never by text, and words the
// refusals it shows from `details` (protocol/worker.ts ErrorDetailsByCode), which cross the worker boundary whole.
import type { ErrorDetails, WireError } from '../../protocol/worker';

export class LensError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request was cancelled by its caller (a newer request, VS Code's cancellation). */
export class CancelledError extends LensError {
  constructor() {
    super('cancelled', 'The request was cancelled.');
  }
}

/** The inference runtime (onnxruntime-web) could not start: usually its .wasm/.mjs files are missing. */
export class RuntimeUnavailableError extends LensError {
  constructor(detail: string) {
    super('runtimeUnavailable', `The inference runtime could not start: ${detail}`);
  }
}

/** The worker thread exited while requests were pending. */
export class WorkerCrashedError extends LensError {
  constructor(detail: string) {
    super('workerCrashed', `The inference worker stopped unexpectedly (${detail}); it has been restarted, please retry.`);
  }
}

export class UnknownRequestError extends LensError {
  constructor(method: string) {
    super('unknownRequest', `Unknown request "${method}".`);
  }
}

/** The message of anything thrown, for logs and notices. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Whether a failure is a cancellation (a CancelledError here, or one that crossed the worker boundary by code). */
export function isCancelled(e: unknown): boolean {
  return e instanceof CancelledError || (e instanceof LensError && e.code === 'cancelled');
}

export function toWireError(e: unknown): WireError {
  if (e instanceof LensError) return { code: e.code, message: e.message, stack: e.stack, ...(e.details ? { details: e.details } : {}) };
  if (e instanceof Error) return { code: 'internal', message: e.message, stack: e.stack };
  return { code: 'internal', message: String(e) };
}
