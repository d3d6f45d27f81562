// The pure helpers behind hover cards and surprisal highlighting: segments and windows of a document, the LRU
// and shared in-flight requests, surprisal bands, and token text made visible and safe for Markdown.
import * as assert from 'node:assert/strict';
import { joinAdjacent, lineIndexOf, segmentAt, segmentBefore, segmentsIn, windowFor } from '../../src/core/scoring/textWindow';
import { Lru, SharedRequests } from '../../src/core/common/lru';
import { CancelledError } from '../../src/core/common/errors';
import { SURPRISAL_BANDS, bandOf, formatPercent, probOfBits } from '../../src/core/scoring/surprisal';
import { hexBytes, markdownCode, markdownCodeBlock, visibleText, visibleTokenText } from '../../src/core/scoring/tokenDisplay';

const utf8 = (s: string) => Array.from(new TextEncoder().encode(s));

describe('document segments and score windows', () => {
  const lines = Array.from({ length: 40 }, (_, i) => `line ${i}: const x${i} = ${i};`);
  const text = lines.join('\n') + '\n';
  const doc = lineIndexOf(text);
  const o = { contextTokens: 16, blockLines: 8 };

  it('indexes lines (\\n, \\r\\n, \\r) and finds the line of an offset', () => {
    const d = lineIndexOf('a\r\nbb\rc\n');
    assert.equal(d.lineCount, 4);
    assert.deepEqual([0, 1, 2, 3].map((l) => d.lineStart(l)), [0, 3, 6, 8]);
    assert.deepEqual([0, 2, 3, 5, 6, 7, 8].map((x) => d.lineAt(x)), [0, 0, 1, 1, 2, 2, 3]);
  });

  it('gives every offset of a block the same segment: blocks of lines, the last one to the end', () => {
    const s = segmentAt(doc, text.indexOf('line 3:'), o)!;
    assert.deepEqual(s, { from: 0, to: doc.lineStart(8) });
    for (const l of [0, 5, 7]) assert.deepEqual(segmentAt(doc, doc.lineStart(l) + 4, o), s);
    assert.deepEqual(segmentAt(doc, doc.lineStart(8), o), { from: doc.lineStart(8), to: doc.lineStart(16) });
    const last = segmentAt(doc, text.length - 1, o)!;
    assert.equal(last.to, text.length);
    // The very end (after the last character) belongs to the last segment.
    assert.deepEqual(segmentAt(doc, text.length, o), last);
    assert.equal(segmentAt(lineIndexOf(''), 0, o), undefined);
    assert.deepEqual(segmentBefore(doc, segmentAt(doc, doc.lineStart(9), o)!, o), s);
    assert.equal(segmentBefore(doc, s, o), undefined);
  });

  it('cuts a long block (minified code) into chunks at fixed offsets', () => {
    const long = 'x'.repeat(10_000) + '\nshort\n';
    const d = lineIndexOf(long);
    const a = segmentAt(d, 5000, { ...o, maxSegmentChars: 2048 })!;
    assert.deepEqual(a, { from: 4096, to: 6144 });
    assert.deepEqual(segmentAt(d, 4096, { ...o, maxSegmentChars: 2048 }), a);
    const all = segmentsIn(d, 0, long.length, { ...o, maxSegmentChars: 2048 });
    assert.equal(all[0].from, 0);
    assert.equal(all[all.length - 1].to, long.length);
    for (let i = 1; i < all.length; i++) assert.equal(all[i].from, all[i - 1].to, 'segments tile the text');
    assert.ok(all.every((s) => s.to - s.from <= 2048));
  });

  it('lists the segments of a range and joins adjacent ones', () => {
    const from = doc.lineStart(10);
    const to = doc.lineStart(30);
    const segs = segmentsIn(doc, from, to, o);
    assert.deepEqual(
      segs.map((s) => doc.lineAt(s.from)),
      [8, 16, 24],
    );
    assert.deepEqual(joinAdjacent(segs), [{ from: doc.lineStart(8), to: doc.lineStart(32) }]);
    assert.deepEqual(joinAdjacent([segs[0], segs[2]]).length, 2);
    assert.deepEqual(segmentsIn(doc, 5, 5, o), []);
  });

  it('reads context before a segment (starting at a line start when near) and a tail after it', () => {
    const seg = segmentAt(doc, doc.lineStart(20), o)!;
    const w = windowFor(doc, seg, { ...o, charsPerToken: 12 });
    assert.ok(seg.from - w.textStart <= 16 * 12 && seg.from - w.textStart > 16 * 12 - 40);
    assert.equal(doc.lineStart(doc.lineAt(w.textStart)), w.textStart, 'context starts at a line start');
    assert.equal(w.textEnd, Math.min(text.length, seg.to + 256));
    const first = windowFor(doc, segmentAt(doc, 0, o)!, o);
    assert.equal(first.textStart, 0);
    const capped = windowFor(doc, seg, { contextTokens: 1e9, maxContextChars: 100 });
    assert.ok(seg.from - capped.textStart <= 100);
  });
});

describe('LRU and shared requests', () => {
  it('evicts the least recently used entry', () => {
    const c = new Lru<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    assert.equal(c.get('a'), 1);
    c.set('c', 3);
    assert.equal(c.has('b'), false);
    assert.deepEqual([c.get('a'), c.get('c'), c.size], [1, 3, 2]);
    c.deleteWhere((k) => k === 'a');
    assert.equal(c.size, 1);
    assert.throws(() => new Lru(0));
  });

  it('shares one request among callers with the same key', async () => {
    const shared = new SharedRequests<string, number>();
    let started = 0;
    let resolve!: (v: number) => void;
    const start = () => {
      started++;
      return new Promise<number>((r) => (resolve = r));
    };
    const a = shared.run('k', start);
    const b = shared.run('k', start);
    assert.equal(started, 1);
    resolve(42);
    assert.deepEqual(await Promise.all([a, b]), [42, 42]);
    assert.equal(shared.size, 0);
    // Once done, the next caller starts afresh.
    const c = shared.run('k', start);
    assert.equal(started, 2);
    resolve(7);
    assert.equal(await c, 7);
  });

  it('aborts the request only when every caller has given up', async () => {
    const shared = new SharedRequests<string, number>();
    let seen: AbortSignal | undefined;
    let resolve!: (v: number) => void;
    const start = (s: AbortSignal) => {
      seen = s;
      return new Promise<number>((r) => (resolve = r));
    };
    const ac1 = new AbortController();
    const ac2 = new AbortController();
    const a = shared.run('k', start, ac1.signal);
    const b = shared.run('k', start, ac2.signal);
    ac1.abort();
    await assert.rejects(a, CancelledError);
    assert.equal(seen!.aborted, false, 'the other caller still waits');
    resolve(1);
    assert.equal(await b, 1);

    const ac3 = new AbortController();
    const c = shared.run('k', start, ac3.signal);
    ac3.abort();
    await assert.rejects(c, CancelledError);
    assert.equal(seen!.aborted, true);
    assert.equal(shared.size, 0);
    const pre = new AbortController();
    pre.abort();
    await assert.rejects(shared.run('k', start, pre.signal), CancelledError);
  });

  it('passes a failure on to every caller', async () => {
    const shared = new SharedRequests<string, number>();
    const boom = () => Promise.reject(new Error('boom'));
    await Promise.all([assert.rejects(shared.run('k', boom), /boom/), assert.rejects(shared.run('k', boom), /boom/)]);
    assert.equal(shared.size, 0);
  });
});

describe('surprisal bands and numbers', () => {
  it('puts each surprisal in one band; none for a token with nothing before it', () => {
    assert.deepEqual([0, 1.99, 2, 3.9, 4, 6.5, 7, 9.99, 10, 20].map(bandOf), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    assert.equal(bandOf(undefined), -1);
    assert.equal(bandOf(NaN), -1);
    assert.equal(bandOf(Infinity), SURPRISAL_BANDS.length - 1);
    for (let i = 1; i < SURPRISAL_BANDS.length; i++) assert.equal(SURPRISAL_BANDS[i].minBits, SURPRISAL_BANDS[i - 1].maxBits, 'bands tile the scale');
    assert.equal(probOfBits(2), 0.25);
  });

  it('formats probabilities readably, tiny ones included', () => {
    assert.deepEqual([0.451, 0.0523, 0.0052, 0.0000312, 2.1e-9, 0, 1, 0.99999].map(formatPercent), ['45.1 %', '5.23 %', '0.52 %', '0.0031 %', '2.1e-7 %', '0 %', '100.0 %', '99.9 %']);
  });
});

describe('token text made visible and safe', () => {
  it('shows whitespace, escapes invisible and bidi characters', () => {
    assert.equal(visibleTokenText(utf8(' foo')), '·foo');
    assert.equal(visibleTokenText(utf8('\n\t  ')), '↵→··');
    assert.equal(visibleTokenText(utf8('a\u202Eb\u200Bc\u0000\u007f')), 'a<U+202E>b<U+200B>c␀␡');
    assert.equal(visibleText('\r\n x\r'), '↵·x␍', 'CR LF shows as one line break, as in the panel');
    assert.equal(visibleTokenText([]), '∅');
    assert.equal(visibleText('ab'.repeat(40), 4), 'abab…');
  });

  it('writes bytes that are not a whole character as <0xNN> (a split emoji)', () => {
    const parrot = utf8('🦜'); // F0 9F A6 9C
    assert.equal(visibleTokenText(parrot), '🦜');
    assert.equal(visibleTokenText(parrot.slice(0, 2)), '<0xF0><0x9F>');
    assert.equal(visibleTokenText(parrot.slice(2)), '<0xA6><0x9C>');
    assert.equal(visibleTokenText([0x20, ...parrot.slice(0, 3)]), '·<0xF0><0x9F><0xA6>');
    assert.equal(visibleTokenText([0xc0, 0x80]), '<0xC0><0x80>', 'an overlong form is not a character');
    assert.equal(visibleTokenText([0xed, 0xa0, 0x80]), '<0xED><0xA0><0x80>', 'a surrogate is not a character');
    assert.equal(visibleTokenText(utf8('é'.repeat(10)), 3), 'ééé…');
    assert.equal(hexBytes(parrot), 'F0 9F A6 9C');
    assert.equal(hexBytes(Array(20).fill(0x41), 4), '41 41 41 41 …');
  });

  it('puts untrusted text in Markdown code that nothing can break out of', () => {
    assert.equal(markdownCode('abc'), '`abc`');
    assert.equal(markdownCode('a`b'), '``a`b``');
    assert.equal(markdownCode('`x``'), '``` `x`` ```');
    assert.equal(markdownCode(''), '` `');
    const evil = visibleTokenText(utf8('[x](command:workbench.action.quit) <img src=x onerror=alert(1)>\n```'), 200);
    const code = markdownCode(evil);
    assert.ok(code.startsWith('````') && code.endsWith('````'));
    assert.ok(!evil.includes('\n'));
    const block = markdownCodeBlock(['45 %  ```', 'b\nc']);
    assert.ok(block.startsWith('````text\n'));
    assert.equal(block.split('\n').length, 5, 'a line break inside a line cannot end the block');
  });
});
