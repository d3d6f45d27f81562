// The suggestion cache (src/core/completion/cache.ts): LRU order, exact repeats, typing through a suggestion.
import * as assert from 'node:assert/strict';
import { SuggestionCache } from '../../src/core/completion/cache';

describe('suggestion cache', () => {
  it('answers an exact repeat, keyed by prefix, suffix and options', () => {
    const c = new SuggestionCache(4);
    c.set('const a = ', ';', 'foo()', 'o1');
    assert.deepEqual(c.get('const a = ', ';', 'o1'), { text: 'foo()', typed: 0 });
    assert.equal(c.get('const a = ', ';', 'o2'), undefined, 'other options');
    assert.equal(c.get('const a = ', '', 'o1'), undefined, 'other suffix');
    assert.equal(c.get('const b = ', ';', 'o1'), undefined, 'other prefix');
  });

  it('answers typing through a suggestion with the rest of it', () => {
    const c = new SuggestionCache();
    c.set('function f() {\n  return ', '\n}', 'a + b;');
    assert.deepEqual(c.get('function f() {\n  return a', '\n}'), { text: ' + b;', typed: 1 });
    assert.deepEqual(c.get('function f() {\n  return a + ', '\n}'), { text: 'b;', typed: 4 });
    assert.equal(c.get('function f() {\n  return a - ', '\n}'), undefined, 'typed something else');
    assert.equal(c.get('function f() {\n  return a + b;', '\n}'), undefined, 'typed to the end: a new suggestion is due');
    assert.deepEqual(c.get('function f() {\n  return a + b', '\n}'), { text: ';', typed: 5 });
  });

  it('types through a multi-line suggestion across the newline and its indentation', () => {
    const c = new SuggestionCache();
    c.set('if (x) {', '', '\n  run();\n}');
    assert.deepEqual(c.get('if (x) {\n  ', ''), { text: 'run();\n}', typed: 3 });
  });

  it('does not type through an empty suggestion, and keeps a known "nothing" as an exact hit', () => {
    const c = new SuggestionCache();
    c.set('x', '', '');
    assert.deepEqual(c.get('x', ''), { text: '', typed: 0 });
    assert.equal(c.get('xy', ''), undefined);
  });

  it('evicts the least recently used entry', () => {
    const c = new SuggestionCache(2);
    c.set('a', '', '1');
    c.set('b', '', '2');
    assert.ok(c.get('a', ''));
    c.set('c', '', '3');
    assert.equal(c.size, 2);
    assert.ok(c.get('a', ''), 'used recently: kept');
    assert.equal(c.get('b', ''), undefined, 'least recently used: evicted');
    c.clear();
    assert.equal(c.size, 0);
  });

  it('keeps long prefixes short but still tells positions apart', () => {
    const c = new SuggestionCache();
    const head = 'x'.repeat(10000);
    c.set(head + 'let a = ', '', '1;');
    assert.deepEqual(c.get(head + 'let a = ', ''), { text: '1;', typed: 0 });
    assert.deepEqual(c.get(head + 'let a = 1', ''), { text: ';', typed: 1 });
  });
});
