// Scored tokens of documents, cached by document version and segment and shared by the editor surfaces: a hover
// over a block that highlighting (or an earlier hover) scored is answered without the model, and a hover over a
// block being scored right now waits for that answer instead of asking again. Pure: no vscode import.
import type { ScoredToken, ScoreParams, ScoreResult } from '../../protocol/score';
import { CancelledError } from '../common/errors';
import { Lru, SharedRequests } from '../common/lru';
import { joinAdjacent, segmentAt, segmentBefore, segmentsIn, windowFor, type LineIndex, type Segment, type WindowOptions } from './textWindow';

/** A document as the cache sees it; `key` names one version of it (e.g. uri + version). */
export interface ScoredDocument {
  readonly key: string;
  readonly lines: LineIndex;
  text(from: number, to: number): string;
}

export type ScoreFunction = (params: ScoreParams, signal?: AbortSignal) => Promise<ScoreResult>;

export interface ScoreOptions {
  window: WindowOptions;
  /** Most tokens scored anew for one call. */
  maxTokens: number;
  /** Alternatives kept per token. */
  topK: number;
}

export interface CacheStats {
  /** Score requests sent. */
  requests: number;
  /** Segments answered from the cache. */
  hits: number;
  /** Segments answered by waiting for a request already running. */
  joined: number;
}

export class ScoreCache {
  private readonly cache: Lru<string, ScoredToken[]>;
  private readonly shared = new SharedRequests<string, ScoredToken[]>();
  private readonly pending = new Map<string, Promise<ScoredToken[] | undefined>>();
  private generation = 0;
  readonly stats: CacheStats = { requests: 0, hits: 0, joined: 0 };

  constructor(
    private readonly score: ScoreFunction,
    capacity = 512,
  ) {
    this.cache = new Lru(capacity);
  }

  /** Forgets every answer (another model reads text differently); requests running now are not cached. */
  clear(): void {
    this.generation++;
    this.cache.clear();
  }

  /** Forgets the answers for documents whose key starts with `prefix` (every version of a closed document). */
  forget(prefix: string): void {
    this.cache.deleteWhere((k) => k.startsWith(prefix, k.indexOf('|') + 1));
  }

  get size(): number {
    return this.cache.size;
  }

  /** The scored token that holds `offset`; undefined past the end or in an empty document. */
  async tokenAt(doc: ScoredDocument, offset: number, o: ScoreOptions, signal?: AbortSignal): Promise<ScoredToken | undefined> {
    if (offset < 0 || offset >= doc.lines.length) return undefined;
    let seg = segmentAt(doc.lines, offset, o.window);
    // A token may start in the segment before (a line break with the next line's indentation): look there too.
    for (let tries = 0; seg && tries < 2; tries++) {
      const tokens = await this.segment(doc, seg, o, signal);
      const hit = tokens.find((t) => t.start <= offset && offset < t.end);
      if (hit) return hit;
      if (tokens.length > 0 && tokens[0].start <= offset) return undefined;
      seg = segmentBefore(doc.lines, seg, o.window);
    }
    return undefined;
  }

  /**
   * The scored tokens that overlap [from, to): cached segments as they are, the others scored in one request per
   * run of adjacent segments, at most `maxTokens` tokens scored anew (`truncated` says when the limit cut it short).
   */
  async range(doc: ScoredDocument, from: number, to: number, o: ScoreOptions, signal?: AbortSignal): Promise<{ tokens: ScoredToken[]; truncated: boolean }> {
    const segs = segmentsIn(doc.lines, from, to, o.window);
    const found = new Map<string, ScoredToken[]>();
    const missing: Segment[] = [];
    for (const s of segs) {
      const hit = this.cache.get(this.key(doc, s, o));
      if (hit) {
        this.stats.hits++;
        found.set(this.key(doc, s, o), hit);
      } else missing.push(s);
    }
    let budget = o.maxTokens;
    let truncated = false;
    for (const run of joinAdjacent(missing)) {
      if (budget <= 0) {
        truncated = true;
        break;
      }
      const r = await this.request(
        doc,
        run,
        missing.filter((s) => s.from >= run.from && s.to <= run.to),
        { ...o, maxTokens: budget },
        signal,
      );
      for (const [k, v] of r.bySegment) found.set(k, v);
      budget -= r.scored;
      truncated ||= r.truncated;
    }
    const tokens: ScoredToken[] = [];
    for (const s of segs) for (const t of found.get(this.key(doc, s, o)) ?? []) if (t.end > from && t.start < to) tokens.push(t);
    return { tokens, truncated };
  }

  private key(doc: ScoredDocument, seg: Segment, o: ScoreOptions): string {
    return `${this.generation}|${doc.key}|${o.window.contextTokens}|${o.topK}|${seg.from}-${seg.to}`;
  }

  /** One segment: from the cache, from a request already scoring it, or from a request of its own. */
  private async segment(doc: ScoredDocument, seg: Segment, o: ScoreOptions, signal?: AbortSignal): Promise<ScoredToken[]> {
    const key = this.key(doc, seg, o);
    const hit = this.cache.get(key);
    if (hit) {
      this.stats.hits++;
      return hit;
    }
    const pending = this.pending.get(key);
    if (pending) {
      const r = await abortable(pending, signal);
      if (r) {
        this.stats.joined++;
        return r;
      }
    }
    return this.shared.run(key, async (s) => (await this.request(doc, seg, [seg], o, s)).bySegment.get(key) ?? [], signal);
  }

  /** Scores the tokens that start in `run` (adjacent `segs`) in one request; caches each segment scored whole. */
  private async request(doc: ScoredDocument, run: Segment, segs: Segment[], o: ScoreOptions, signal?: AbortSignal): Promise<{ bySegment: Map<string, ScoredToken[]>; scored: number; truncated: boolean }> {
    const keys = segs.map((s) => this.key(doc, s, o));
    // Announce the segments being scored, so that a hover over one of them waits for this answer.
    const mine: { key: string; settle: (v: ScoredToken[] | undefined) => void }[] = [];
    for (const key of keys) {
      if (this.pending.has(key)) continue;
      let settle!: (v: ScoredToken[] | undefined) => void;
      this.pending.set(key, new Promise<ScoredToken[] | undefined>((r) => (settle = r)));
      mine.push({ key, settle });
    }
    const bySegment = new Map<string, ScoredToken[]>();
    try {
      if (signal?.aborted) throw new CancelledError();
      const w = windowFor(doc.lines, run, o.window);
      const generation = this.generation;
      this.stats.requests++;
      const r = await this.score(
        { text: doc.text(w.textStart, w.textEnd), scoreFrom: w.from - w.textStart, scoreTo: w.to - w.textStart, contextTokens: o.window.contextTokens, topK: o.topK, maxTokens: o.maxTokens },
        signal,
      );
      for (const t of r.tokens) {
        t.start += w.textStart;
        t.end += w.textStart;
        t.contextStart += w.textStart;
      }
      const last = r.tokens[r.tokens.length - 1];
      segs.forEach((s, i) => {
        const tokens = r.tokens.filter((t) => t.start >= s.from && t.start < s.to);
        bySegment.set(keys[i], tokens);
        // Cut short by the token limit: a segment past the last scored token is not whole; keep it out of the cache.
        const whole = r.truncated === 0 || (last !== undefined && s.to <= last.end);
        if (whole && generation === this.generation) this.cache.set(keys[i], tokens);
      });
      return { bySegment, scored: r.tokens.length, truncated: r.truncated > 0 };
    } finally {
      for (const m of mine) {
        this.pending.delete(m.key);
        m.settle(this.cache.get(m.key));
      }
    }
  }
}

/** Waits for `p`, or rejects with CancelledError when `signal` aborts first. */
function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new CancelledError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
