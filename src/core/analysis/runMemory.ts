// The hidden states of the last analysis, kept by the worker so that choosing another token needs no new run.
// One RunMemory belongs to the worker's handlers (not module state): a new worker starts with none.
import type { LoadedModel } from '../session/modelSession';
import { StaleAnalysisError } from './errors';

export interface RememberedRun {
  id: number;
  ids: number[];
  /** hidden[l]: [T*d], the residual stream entering layer l (hidden[L] enters the final norm). */
  hidden: Float32Array[];
}

export class RunMemory {
  private last: { model: LoadedModel; run: RememberedRun } | undefined;
  private nextId = 1;

  /** Keeps a run's hidden states (the arrays must not be handed to another thread afterwards); returns its id. */
  remember(model: LoadedModel, ids: number[], hidden: Float32Array[]): number {
    const id = this.nextId++;
    this.last = { model, run: { id, ids, hidden } };
    return id;
  }

  /** The run with this id, if it is still the last one of this model; else StaleAnalysisError. */
  get(model: LoadedModel, runId: unknown): RememberedRun {
    if (!this.last || this.last.model !== model || this.last.run.id !== runId) throw new StaleAnalysisError();
    return this.last.run;
  }

  clear(): void {
    this.last = undefined;
  }
}
