// Typed errors with messages a person can act on; the host picks actions by `code`, never by text.

export class LensError extends Error {
  constructor(
    readonly code: string,
    message: string,
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

export function toWireError(e: unknown): { code: string; message: string; stack?: string } {
  if (e instanceof LensError) return { code: e.code, message: e.message, stack: e.stack };
  if (e instanceof Error) return { code: 'internal', message: e.message, stack: e.stack };
  return { code: 'internal', message: String(e) };
}
