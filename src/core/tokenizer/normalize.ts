// core/tokenizer/normalize.ts: NFC for tokenizers whose normalizer is NFC (Qwen2.5), with the way back from offsets
// in the NFC text to offsets in the text the editor holds.
//
// The model sees NFC(text), so token bytes are read against the NFC text; spans must still be offsets of the original
// text. NFC only changes short stretches (a letter and its combining marks, a Hangul jamo sequence, a singleton such as
// U+212B ANGSTROM SIGN), so the text is cut into such clusters, each normalized alone, and every cluster whose NFC
// differs is recorded as a Change. A token inside unchanged text moves by the length difference of the changes before
// it; a token that touches a changed cluster covers the whole original cluster (a token holding the composed "é"
// covers "e" + U+0301). Most editor text is already NFC: then there are no changes and nothing else is done.
import type { TokenInfo } from '../../protocol/analysis';

/** A stretch [from, to) of the original text that NFC turned into [nfcFrom, nfcTo) of the NFC text. */
export interface Change {
  from: number;
  to: number;
  nfcFrom: number;
  nfcTo: number;
}

export interface NfcText {
  /** NFC of the whole text, what the tokenizer's model sees. */
  text: string;
  /** The stretches that NFC changed, in order; empty when the text was already NFC. */
  changes: Change[];
}

// Characters that can join the character before them under NFC: combining marks and the medial/final Hangul jamo
// (U+1160-U+11FF, U+D7B0-U+D7FF). A cluster is one other character followed by any of these; any non-ASCII character
// alone is a cluster too, for singletons (U+212B, CJK compatibility ideographs). ASCII outside a cluster never changes.
const JOINING = '\\p{M}\\u1160-\\u11FF\\uD7B0-\\uD7FF';
const CLUSTER = new RegExp(`[^${JOINING}]?[${JOINING}]+|[^\\x00-\\x7F]`, 'gu');

/** NFC of `text` and the changes it made, cluster by cluster. */
export function toNfc(text: string): NfcText {
  const nfc = text.normalize('NFC');
  if (nfc === text) return { text, changes: [] };
  const changes: Change[] = [];
  let rebuilt = '';
  let prev = 0;
  for (const m of text.matchAll(CLUSTER)) {
    const cluster = m[0];
    const normal = cluster.normalize('NFC');
    if (normal === cluster) continue;
    const from = m.index!;
    rebuilt += text.slice(prev, from);
    changes.push(difference(cluster, normal, from, rebuilt.length));
    rebuilt += normal;
    prev = from + cluster.length;
  }
  rebuilt += text.slice(prev);
  // Normalizing cluster by cluster equals normalizing the whole text for all the text NFC can change; should some
  // sequence escape the clusters, one change covering everything from the first to the last difference stays exact.
  return { text: nfc, changes: rebuilt === nfc ? changes : [difference(text, nfc, 0, 0)] };
}

/**
 * The change that turned `orig` (at `from` in the original text) into `normal` (at `nfcFrom` in the NFC text),
 * narrowed to the code points that differ: in "x" + U+0301 + U+0323, whose marks NFC reorders, "x" stays its own.
 */
function difference(orig: string, normal: string, from: number, nfcFrom: number): Change {
  let head = 0;
  while (head < orig.length && head < normal.length && orig.charCodeAt(head) === normal.charCodeAt(head)) head++;
  if (head > 0 && isLowSurrogate(orig.charCodeAt(head))) head--;
  let tail = 0;
  const room = Math.min(orig.length, normal.length) - head;
  while (tail < room && orig.charCodeAt(orig.length - 1 - tail) === normal.charCodeAt(normal.length - 1 - tail)) tail++;
  if (tail > 0 && isLowSurrogate(orig.charCodeAt(orig.length - tail))) tail--;
  return { from: from + head, to: from + orig.length - tail, nfcFrom: nfcFrom + head, nfcTo: nfcFrom + normal.length - tail };
}

const isLowSurrogate = (c: number) => (c & 0xfc00) === 0xdc00;

/**
 * Moves token spans from offsets of the NFC text to offsets of the original text, in place. A token that starts or
 * ends inside a changed cluster covers all of it and is `partial` (its neighbour holds the rest of that cluster).
 * Tokens are monotone, so two cursors walk the changes once.
 */
export function spansToOriginal(tokens: TokenInfo[], changes: readonly Change[]): void {
  const starts = new Cursor(changes);
  const ends = new Cursor(changes);
  for (const t of tokens) {
    const s = starts.map(t.start, 'start');
    const e = ends.map(t.end, 'end');
    t.start = s.at;
    t.end = e.at;
    if (s.inside || e.inside) t.partial = true;
  }
}

class Cursor {
  private k = 0;
  /** Original length minus NFC length of the changes before `k`. */
  private delta = 0;
  constructor(private readonly changes: readonly Change[]) {}

  /** The original offset of NFC offset `p`; `inside` when p falls strictly inside a change. */
  map(p: number, side: 'start' | 'end'): { at: number; inside: boolean } {
    const cs = this.changes;
    while (this.k < cs.length && cs[this.k].nfcTo <= p) {
      const c = cs[this.k++];
      this.delta += c.to - c.from - (c.nfcTo - c.nfcFrom);
    }
    const c = cs[this.k];
    if (c !== undefined && c.nfcFrom < p) return { at: side === 'start' ? c.from : c.to, inside: true };
    return { at: p + this.delta, inside: false };
  }
}
