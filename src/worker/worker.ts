// worker_threads entry: owns the runtime and the model, serves typed requests one at a time.
import { parentPort, workerData } from 'node:worker_threads';
import { isHostToWorkerMessage, type WorkerStartOptions, type WorkerToHostMessage, type WorkerRequestName } from '../protocol/worker';
import { CancelledError, UnknownRequestError, toWireError } from '../core/common/errors';
import { createHandlers, type Handler } from './handlers';
import { pack } from '../protocol/pack';
import type { Logger } from '../core/common/logger';

const port = parentPort;
if (!port) throw new Error('worker.js must run as a worker thread');

const options = workerData as WorkerStartOptions;
// The worker's log lines go to the host's output channel.
const log: Logger = {
  trace: (m) => send({ type: 'log', level: 'trace', message: m }),
  debug: (m) => send({ type: 'log', level: 'debug', message: m }),
  info: (m) => send({ type: 'log', level: 'info', message: m }),
  warn: (m) => send({ type: 'log', level: 'warn', message: m }),
  error: (m) => send({ type: 'log', level: 'error', message: m instanceof Error ? `${m.message}\n${m.stack ?? ''}` : m }),
};
const handlers = createHandlers(options, log);
const controllers = new Map<number, AbortController>();
// One run at a time: inference is CPU bound and onnxruntime-web blocks its thread anyway.
let queue: Promise<void> = Promise.resolve();

function send(m: WorkerToHostMessage, transfer?: ArrayBuffer[]): void {
  port!.postMessage(m, transfer);
}

port.on('message', (raw: unknown) => {
  if (!isHostToWorkerMessage(raw)) {
    send({ type: 'log', level: 'warn', message: `worker: rejected a malformed message: ${JSON.stringify(raw)?.slice(0, 200)}` });
    return;
  }
  if (raw.type === 'cancel') {
    controllers.get(raw.id)?.abort();
    return;
  }
  const { id, method, params } = raw;
  const controller = new AbortController();
  controllers.set(id, controller);
  queue = queue.then(async () => {
    try {
      if (controller.signal.aborted) throw new CancelledError();
      const handler = (handlers as Record<string, Handler<WorkerRequestName> | undefined>)[method];
      if (!handler) throw new UnknownRequestError(method);
      const value = await handler(params as never, controller.signal, (done, total) => send({ type: 'progress', id, done, total }));
      // Packed: matrices as transferred buffers, records as columns; cloning them as they are blocked the host.
      const p = pack(value);
      send({ type: 'reply', id, reply: { ok: true, value: p.value }, packed: { buffers: p.buffers } }, p.buffers);
    } catch (e) {
      send({ type: 'reply', id, reply: { ok: false, error: toWireError(e) } });
    } finally {
      controllers.delete(id);
    }
  });
});
