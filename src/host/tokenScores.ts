// Token scores for the editor surfaces (hover cards, surprisal highlighting): which documents qualify, the
// model loaded on first use (and left alone for a while after it failed), and one cache both surfaces share.
import * as vscode from 'vscode';
import type { Logger } from '../core/common/logger';
import { errorMessage, LensError } from '../core/common/errors';
import { Lru, SharedRequests } from '../core/common/lru';
import { ScoreCache, type ScoredDocument, type ScoreOptions } from '../core/scoring/scoreCache';
import type { LineIndex } from '../core/scoring/textWindow';
import type { ScoredToken, ScoreParams, TokenNeighbours } from '../protocol/score';
import { textProblem } from '../core/analysis/textCheck';
import { languageEnabled, type EditorSettings } from './settings';
import type { ModelService } from './modelService';

/** A scored token; its offsets are the document's. */
export type DocToken = ScoredToken;

/** Why a document gets no hover card and no highlighting. */
export type Ineligible = 'scheme' | 'language' | 'empty' | 'tooLarge' | 'binary' | 'modelUnavailable';

/** The model could not be loaded a moment ago; the editor surfaces stay quiet for a while instead of retrying on every hover. */
export class ModelUnavailableError extends LensError {
  constructor(detail: string) {
    super('modelUnavailable', `The model is not available: ${detail}`);
  }
}

/** Documents that are not text a person writes: output channels, the debug console's input, and the like. */
const SKIPPED_SCHEMES = new Set(['output', 'debug', 'vscode-terminal', 'vscode-scm', 'comment', 'private']);
const LOAD_RETRY_MS = 30_000;
const ALTERNATIVES = 5;
const NEIGHBOURS = 8;
/** How much of a document is looked at for binary content. */
const BINARY_SAMPLE = 65536;

export function lineIndexOfDocument(doc: vscode.TextDocument): LineIndex {
  const last = doc.lineAt(doc.lineCount - 1);
  return {
    lineCount: doc.lineCount,
    length: doc.offsetAt(last.range.end),
    lineStart: (line) => doc.offsetAt(new vscode.Position(line, 0)),
    lineAt: (offset) => doc.positionAt(offset).line,
  };
}

function scoredDocument(doc: vscode.TextDocument): ScoredDocument {
  return {
    key: `${doc.uri.toString()}|${doc.version}`,
    lines: lineIndexOfDocument(doc),
    text: (from, to) => doc.getText(new vscode.Range(doc.positionAt(from), doc.positionAt(to))),
  };
}

export class TokenScores implements vscode.Disposable {
  readonly cache: ScoreCache;
  private readonly neighbourCache = new Lru<number, TokenNeighbours>(1024);
  private readonly sharedNeighbours = new SharedRequests<number, TokenNeighbours>();
  private readonly facts = new Lru<string, { tooLarge: boolean; binary: boolean }>(64);
  private generation = 0;
  private loadFailure: { at: number; message: string } | undefined;
  private readonly subs: vscode.Disposable[];

  constructor(
    private readonly models: ModelService,
    private readonly config: EditorSettings,
    private readonly log: Logger,
  ) {
    this.cache = new ScoreCache((params, signal) => this.score(params, signal));
    this.subs = [
      // Not on every load: the first use loads the model, and the answers that load was for must stay.
      models.onDidChangeModel(() => this.clear()),
      vscode.workspace.onDidCloseTextDocument((doc) => this.cache.forget(`${doc.uri.toString()}|`)),
    ];
  }

  /** Forgets every answer (another model reads text differently) and any past load failure. */
  clear(): void {
    this.generation++;
    this.cache.clear();
    this.neighbourCache.clear();
    this.loadFailure = undefined;
  }

  /** Why this document gets no card and no highlighting, or undefined when it qualifies. Cheap: runs on every hover. */
  check(doc: vscode.TextDocument): Ineligible | undefined {
    if (SKIPPED_SCHEMES.has(doc.uri.scheme)) return 'scheme';
    if (!languageEnabled(this.config.languages, doc.languageId)) return 'language';
    const length = lineIndexOfDocument(doc).length;
    if (length === 0) return 'empty';
    const max = this.config.maxFileBytes;
    // UTF-16 length <= UTF-8 bytes <= 3 x UTF-16 length: count the bytes only when it could matter.
    if (length > max) return 'tooLarge';
    const key = `${doc.uri.toString()}|${doc.version}|${max}`;
    let f = this.facts.get(key);
    if (!f) {
      const tooLarge = length * 3 > max && Buffer.byteLength(doc.getText(), 'utf8') > max;
      const sample = doc.getText(new vscode.Range(new vscode.Position(0, 0), doc.positionAt(Math.min(length, BINARY_SAMPLE))));
      f = { tooLarge, binary: textProblem(sample)?.kind === 'binary' };
      this.facts.set(key, f);
    }
    if (f.tooLarge) return 'tooLarge';
    if (f.binary) return 'binary';
    if (this.loadFailure && Date.now() - this.loadFailure.at < LOAD_RETRY_MS) return 'modelUnavailable';
    return undefined;
  }

  options(): ScoreOptions {
    const maxTokens = this.config.maxTokens;
    // Context and the text scored must fit the token limit together: at least half of it goes to the text.
    return { window: { contextTokens: Math.min(this.config.contextTokens, Math.floor(maxTokens / 2)) }, maxTokens, topK: ALTERNATIVES };
  }

  /** The scored token under `offset`, or undefined (an empty document, an offset past the end). */
  tokenAt(doc: vscode.TextDocument, offset: number, signal?: AbortSignal): Promise<DocToken | undefined> {
    return this.cache.tokenAt(scoredDocument(doc), offset, this.options(), signal);
  }

  /** Scored tokens that overlap [from, to), at most llmLens.editor.maxTokens of them scored anew. */
  range(doc: vscode.TextDocument, from: number, to: number, signal?: AbortSignal): Promise<{ tokens: DocToken[]; truncated: boolean }> {
    return this.cache.range(scoredDocument(doc), from, to, this.options(), signal);
  }

  /** A token's embedding norm and nearest vocabulary neighbours (cached per model). */
  async neighbours(id: number, signal?: AbortSignal): Promise<TokenNeighbours> {
    const hit = this.neighbourCache.get(id);
    if (hit) return hit;
    const generation = this.generation;
    return this.sharedNeighbours.run(
      id,
      async (s) => {
        await this.ensureModel();
        const r = (await this.models.neighbours({ ids: [id], count: NEIGHBOURS }, s)).tokens[0];
        if (generation === this.generation) this.neighbourCache.set(id, r);
        return r;
      },
      signal,
    );
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
  }

  private async score(params: ScoreParams, signal?: AbortSignal) {
    await this.ensureModel();
    const r = await this.models.score(params, signal);
    this.log.debug(`score: ${r.tokens.length} tokens in ${r.timings.totalMs.toFixed(0)} ms (${r.runs} run(s), model ${r.timings.runMs.toFixed(0)} ms)`);
    return r;
  }

  /** Loads the model on first use; after a failure, stays quiet for a while rather than retrying on every hover. */
  private async ensureModel(): Promise<void> {
    if (this.loadFailure && Date.now() - this.loadFailure.at < LOAD_RETRY_MS) throw new ModelUnavailableError(this.loadFailure.message);
    try {
      await this.models.ensureLoaded();
      this.loadFailure = undefined;
    } catch (e) {
      this.loadFailure = { at: Date.now(), message: errorMessage(e) };
      throw e;
    }
  }
}
