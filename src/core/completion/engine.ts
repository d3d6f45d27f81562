// The worker's completion engine: prompt (prefix/suffix budgets, FIM), KV-cache generation with prefix reuse, stop
// rules and post-processing, for one loaded model. One generation at a time; cancellable between tokens.
import type { CompleteOptions, CompleteParams, CompleteResult } from '../../protocol/completion';
import type { ModelSpec } from '../../protocol/analysis';
import { settingDefault } from '../../protocol/settings';
import { CancelledError, LensError } from '../common/errors';
import type { Logger } from '../common/logger';
import { Generator } from '../session/generate';
import type { InferenceRuntime } from '../runtime/runtime';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { PromptBuilder } from './prompt';
import { finishSuggestion, stopWhenDone, type SuggestionContext } from './postprocess';

/** The llmLens.completions.* defaults (package.json), for requests that leave an option out (the CLI, the bench). */
export const COMPLETION_DEFAULTS: Required<Omit<CompleteOptions, 'raw' | 'cold' | 'fim' | 'heal'>> = {
  prefixTokens: settingDefault<number>('llmLens.completions.prefixTokens'),
  suffixTokens: settingDefault<number>('llmLens.completions.suffixTokens'),
  maxTokens: settingDefault<number>('llmLens.completions.maxTokens'),
  mode: settingDefault<'singleLine' | 'multiLine'>('llmLens.completions.mode'),
  timeBudgetMs: settingDefault<number>('llmLens.completions.timeBudget'),
};

/** Text around the cursor the post-processing reads (bracket balance, repeats of the next line). */
const CONTEXT_CHARS = 4000;

export class CompletionEngine {
  private generations = 0;
  private cancelled = 0;
  private running = 0;
  private maxRunning = 0;

  private constructor(
    private readonly generator: Generator,
    private readonly prompts: PromptBuilder,
  ) {}

  /** A generation session for the model in `folder` (the one the analysis session loaded). */
  static async create(folder: string, model: { tokenizer: Tokenizer; spec: ModelSpec; runtime?: InferenceRuntime }, options: { maxModelBytes?: number; onnxFile?: string; logger?: Logger } = {}): Promise<CompletionEngine> {
    // The same runtime as the analysis session (native, or WebAssembly when native failed for this model).
    const generator = await Generator.load(folder, { tokenizer: model.tokenizer, spec: model.spec, maxModelBytes: options.maxModelBytes, onnxFile: options.onnxFile, logger: options.logger, runtime: model.runtime });
    return new CompletionEngine(generator, new PromptBuilder(model.tokenizer, model.spec.fim));
  }

  /** For tests and the benchmark: an engine over an already loaded generator. */
  static fromGenerator(generator: Generator, fim: ModelSpec['fim']): CompletionEngine {
    return new CompletionEngine(generator, new PromptBuilder(generator.tokenizer, fim));
  }

  get stats(): CompleteResult['engine'] {
    return { generations: this.generations, cancelled: this.cancelled, maxRunning: this.maxRunning };
  }

  async complete(params: CompleteParams, signal?: AbortSignal): Promise<CompleteResult> {
    const { prefix, suffix } = checkParams(params);
    const o = { ...COMPLETION_DEFAULTS, ...definedOnly(params.options ?? {}) };
    checkOptions(o);
    if (signal?.aborted) throw new CancelledError();
    const t0 = performance.now();
    // Prompt and generation must fit the context: the prefix gives way first.
    const room = this.generator.nCtx - o.maxTokens - o.suffixTokens - 3;
    if (room < 1) throw new LensError('invalidOption', `maxTokens + suffixTokens leave no room for a prompt in the model's ${this.generator.nCtx} positions.`);
    const prompt = this.prompts.build(prefix, suffix, { prefixTokens: Math.min(o.prefixTokens, room), suffixTokens: o.suffixTokens, fim: o.fim, heal: o.heal });
    if (prompt.ids.length === 0) throw new LensError('emptyPrompt', 'There is no text before the cursor to complete.');
    const promptMs = performance.now() - t0;
    const ctx: SuggestionContext = { before: prefix.slice(-CONTEXT_CHARS), after: suffix.slice(0, CONTEXT_CHARS), mode: o.mode };
    if (o.cold) this.generator.reset();
    this.generations++;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      const g = await this.generator.generate(prompt.ids, {
        maxNewTokens: o.maxTokens,
        timeBudgetMs: o.timeBudgetMs,
        stop: o.raw ? undefined : stopWhenDone(ctx),
        signal,
        heal: prompt.heal,
      });
      const truncated = g.stopReason === 'maxTokens' || g.stopReason === 'time' || g.stopReason === 'context';
      return {
        text: o.raw ? g.text : finishSuggestion(g.text, ctx, truncated),
        rawText: g.text,
        tokens: g.ids.length,
        promptTokens: g.promptTokens,
        prefixReused: g.reusedTokens,
        prefilled: g.prefillTokens,
        fim: prompt.fim,
        promptStart: prompt.prefixStart,
        stopReason: g.stopReason,
        timings: { promptMs, prefillMs: g.timings.prefillMs, decodeMs: g.timings.decodeMs, totalMs: performance.now() - t0 },
        engine: this.stats,
      };
    } catch (e) {
      if (e instanceof CancelledError) this.cancelled++;
      throw e;
    } finally {
      this.running--;
    }
  }

  async dispose(): Promise<void> {
    await this.generator.dispose();
  }
}

function checkParams(p: CompleteParams): { prefix: string; suffix: string } {
  if (typeof p?.prefix !== 'string' || typeof p.suffix !== 'string') throw new LensError('invalidRequest', 'complete needs "prefix" and "suffix" strings.');
  if (p.options !== undefined && (typeof p.options !== 'object' || p.options === null)) throw new LensError('invalidRequest', '"options" must be an object.');
  return { prefix: p.prefix, suffix: p.suffix };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkOptions(o: CompleteOptions & typeof COMPLETION_DEFAULTS): void {
  const int = (name: keyof typeof COMPLETION_DEFAULTS, min: number, max: number) => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new LensError('invalidOption', `${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(v)}.`);
  };
  int('prefixTokens', 1, 8192);
  int('suffixTokens', 0, 8192);
  int('maxTokens', 1, 1024);
  int('timeBudgetMs', 1, 60000);
  if (o.mode !== 'singleLine' && o.mode !== 'multiLine') throw new LensError('invalidOption', `mode must be "singleLine" or "multiLine", not ${JSON.stringify(o.mode)}.`);
}
