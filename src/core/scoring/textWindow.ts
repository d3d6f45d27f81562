// Which text the model reads for a hover or for highlighting a range: the document is cut into fixed segments
// (blocks of lines, long blocks into chunks), so that hovers and highlighting passes over the same part of the
// same document version ask the same question and can share one cached answer. Pure: no vscode import.

/** What this module needs to know about a document (UTF-16 offsets, as the editor counts them). */
export interface LineIndex {
  readonly lineCount: number;
  /** Offset just past the last character. */
  readonly length: number;
  /** Offset of the first character of `line` (0-based). */
  lineStart(line: number): number;
  /** Line holding `offset`. */
  lineAt(offset: number): number;
}

export interface WindowOptions {
  /** Tokens of context wanted before each scored token. */
  contextTokens: number;
  /** Lines per segment. */
  blockLines?: number;
  /** Longest segment; a longer block (long lines, minified code) is cut into chunks of this many characters. */
  maxSegmentChars?: number;
  /** Characters of text read per token of context wanted: generous, the worker keeps only what it needs. */
  charsPerToken?: number;
  /** At most this many characters of context text. */
  maxContextChars?: number;
  /** Characters read past a segment so that its last token is whole. */
  tailChars?: number;
}

/** A part of the document whose tokens are scored together: those that start in [from, to). */
export interface Segment {
  from: number;
  to: number;
}

/** A request: score tokens that start in [from, to), reading the text [textStart, textEnd). */
export interface ScoreWindow extends Segment {
  textStart: number;
  textEnd: number;
}

const DEFAULTS = { blockLines: 8, maxSegmentChars: 2048, charsPerToken: 12, maxContextChars: 65536, tailChars: 256 };

function opts(o: WindowOptions): Required<WindowOptions> {
  return { ...DEFAULTS, ...o };
}

/** The segments of block `b` (lines b*B .. b*B+B-1), in order. */
function blockSegments(doc: LineIndex, b: number, o: Required<WindowOptions>): Segment[] {
  const first = b * o.blockLines;
  const from = doc.lineStart(first);
  const to = first + o.blockLines < doc.lineCount ? doc.lineStart(first + o.blockLines) : doc.length;
  if (to - from <= o.maxSegmentChars) return [{ from, to }];
  // Chunk boundaries at absolute multiples of M: the same chunks whichever offset asked for them.
  const M = o.maxSegmentChars;
  const out: Segment[] = [];
  for (let j = Math.floor(from / M); j * M < to; j++) out.push({ from: Math.max(from, j * M), to: Math.min(to, (j + 1) * M) });
  return out;
}

/** The segment holding `offset` (the last one for an offset at the very end); undefined for an empty document. */
export function segmentAt(doc: LineIndex, offset: number, o: WindowOptions): Segment | undefined {
  if (doc.length === 0) return undefined;
  const full = opts(o);
  const at = Math.max(0, Math.min(offset, doc.length - 1));
  const segs = blockSegments(doc, Math.floor(doc.lineAt(at) / full.blockLines), full);
  return segs.find((s) => at >= s.from && at < s.to) ?? segs[segs.length - 1];
}

/** The segment just before `seg`, if any (a token may start in it and run into `seg`). */
export function segmentBefore(doc: LineIndex, seg: Segment, o: WindowOptions): Segment | undefined {
  return seg.from > 0 ? segmentAt(doc, seg.from - 1, o) : undefined;
}

/** The segments that overlap [from, to), in order. */
export function segmentsIn(doc: LineIndex, from: number, to: number, o: WindowOptions): Segment[] {
  if (doc.length === 0 || to <= from) return [];
  const full = opts(o);
  const last = Math.max(0, Math.min(to, doc.length) - 1);
  const out: Segment[] = [];
  const b0 = Math.floor(doc.lineAt(Math.max(0, Math.min(from, doc.length - 1))) / full.blockLines);
  const b1 = Math.floor(doc.lineAt(last) / full.blockLines);
  for (let b = b0; b <= b1; b++) for (const s of blockSegments(doc, b, full)) if (s.to > from && s.from <= last) out.push(s);
  return out;
}

/** Runs of adjacent segments, each to be scored in one request. */
export function joinAdjacent(segs: Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const s of segs) {
    const prev = out[out.length - 1];
    if (prev && prev.to === s.from) prev.to = s.to;
    else out.push({ ...s });
  }
  return out;
}

/**
 * The text to read for scoring [from, to): context before it (cut at a line start when one is near, so
 * that the first context token is not half a word), and a tail after it so its last token is whole.
 */
export function windowFor(doc: LineIndex, seg: Segment, o: WindowOptions): ScoreWindow {
  const full = opts(o);
  const want = Math.min(full.maxContextChars, Math.max(0, Math.ceil(full.contextTokens * full.charsPerToken)));
  let textStart = Math.max(0, seg.from - want);
  if (textStart > 0) {
    const line = doc.lineAt(textStart);
    if (doc.lineStart(line) !== textStart && line + 1 < doc.lineCount) {
      const next = doc.lineStart(line + 1);
      if (next <= seg.from && next - textStart <= 512) textStart = next;
    }
  }
  return { from: seg.from, to: seg.to, textStart, textEnd: Math.min(doc.length, seg.to + full.tailChars) };
}

/** A LineIndex over a string (tests, the CLI and the bench; the editor has its own). */
export function lineIndexOf(text: string): LineIndex {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) starts.push(i + 1);
    else if (c === 13 && text.charCodeAt(i + 1) !== 10) starts.push(i + 1);
  }
  return {
    lineCount: starts.length,
    length: text.length,
    lineStart: (line) => starts[Math.max(0, Math.min(line, starts.length - 1))],
    lineAt: (offset) => {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= offset) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    },
  };
}
