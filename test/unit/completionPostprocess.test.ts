// What a raw generation becomes as a suggestion (src/core/completion/postprocess.ts): line and block ends, no
// repeat of the text after the cursor, brackets balanced against it, nothing when only whitespace is left.
import * as assert from 'node:assert/strict';
import { balanceBrackets, cutIndex, finishSuggestion, stopWhenDone, type SuggestionContext } from '../../src/core/completion/postprocess';

const single = (before: string, after = ''): SuggestionContext => ({ before, after, mode: 'singleLine' });
const multi = (before: string, after = ''): SuggestionContext => ({ before, after, mode: 'multiLine' });

describe('completion post-processing', () => {
  describe('single-line mode', () => {
    it('ends at the end of the line', () => {
      assert.equal(finishSuggestion('x + 1;\n  return y;', single('const y = ')), 'x + 1;');
    });
    it('takes the next line when the rest of this one is blank', () => {
      assert.equal(finishSuggestion('\n  return a + b;\n}', single('function add(a, b) {')), '\n  return a + b;');
    });
    it('tells the generator to stop once the line is known to be complete, not before', () => {
      const stop = stopWhenDone(single('let a = '));
      assert.equal(stop('1'), false);
      assert.equal(stop('1;'), false);
      assert.equal(stop('1;\n'), true);
      assert.equal(stop('\n'), false, 'a blank first line: wait for the next one');
      assert.equal(stop('\n  foo'), false);
      assert.equal(stop('\n  foo\n'), true);
    });
    it('stays on the cursor line when text follows the cursor', () => {
      assert.equal(finishSuggestion('a, b\nfoo', single('call(', ')')), 'a, b');
      assert.equal(cutIndex('\nnext', single('call(', ')'), true), 0);
      assert.equal(finishSuggestion('\nnext line', single('call(', ')')), '');
    });
    it('keeps a line cut short by the token budget', () => {
      assert.equal(finishSuggestion('items.map((x) => x', single('const out = '), true), 'items.map((x) => x');
    });
    it('normalises CRLF and trailing spaces', () => {
      assert.equal(finishSuggestion('done();   \r\nnext', single('  ')), 'done();');
    });
  });

  describe('multi-line mode', () => {
    it('ends at the end of the block (a line indented less than the cursor line)', () => {
      const before = 'function f(a) {\n  if (a) {\n    ';
      assert.equal(finishSuggestion('return 1;\n  }\n  return 2;\n}\n', multi(before)), 'return 1;');
    });
    it('keeps the closing bracket of a block the cursor line opened, then stops', () => {
      const before = 'function f(a) {';
      assert.equal(finishSuggestion('\n  return a;\n}\n\nfunction g() {\n', multi(before)), '\n  return a;\n}');
    });
    it('stops at two blank lines and at the line limit', () => {
      assert.equal(finishSuggestion('a();\nb();\n\n\nc();', multi('')), 'a();\nb();');
      const many = Array.from({ length: 30 }, (_, i) => `s${i}();`).join('\n');
      assert.equal(finishSuggestion(many, { ...multi(''), maxLines: 4 }).split('\n').length, 4);
    });
    it('drops a last line cut short by the token budget', () => {
      assert.equal(finishSuggestion('a();\nb();\nconst c = som', multi(''), true), 'a();\nb();');
    });
    it('does not repeat the line that already follows the cursor', () => {
      const before = 'if (ok) {\n  ';
      const after = '\n  return done;\n}';
      assert.equal(finishSuggestion('log(ok);\n  return done;\n}', multi(before, after)), 'log(ok);');
    });
    it('waits for whole lines before deciding', () => {
      const stop = stopWhenDone(multi('  '));
      assert.equal(stop('a();\n  b('), false);
      assert.equal(stop('a();\n  b();\n'), false);
      assert.equal(stop('a();\n  b();\n}\n'), true, 'dedented line: the block ended');
    });
  });

  describe('text after the cursor', () => {
    it('drops the part of the suggestion that the rest of the line already holds', () => {
      assert.equal(finishSuggestion('x, y);', single('call(', ');')), 'x, y');
      assert.equal(finishSuggestion('name;', single('return this.', ';')), 'name');
    });
    it('drops a suggestion that is only what follows the cursor', () => {
      assert.equal(finishSuggestion(')', single('call(x', ')')), '');
      assert.equal(finishSuggestion('   ', single('a = ')), '');
      assert.equal(finishSuggestion('\n\n', single('a = ')), '');
    });
  });

  describe('brackets', () => {
    it('does not close a bracket that the rest of the line closes', () => {
      assert.equal(balanceBrackets(', b))', 'foo(a', ')'), ', b');
      assert.equal(finishSuggestion('b, c]', single('const xs = [a, ', ']')), 'b, c');
    });
    it("keeps the suggestion's own pairs and closes brackets opened before the cursor", () => {
      assert.equal(balanceBrackets('x()', 'foo(', ')'), 'x()');
      assert.equal(balanceBrackets(') {', 'if (x', ''), ') {');
      assert.equal(balanceBrackets('b)', 'foo(\n  a,\n  ', ''), 'b)', 'a bracket opened lines before');
    });
    it('cuts at a closing bracket that closes nothing or the wrong kind', () => {
      assert.equal(balanceBrackets('a) + b', 'x = ', ''), 'a');
      assert.equal(balanceBrackets('a]', 'f(', ''), 'a');
    });
    it('ignores brackets in strings and comments', () => {
      assert.equal(balanceBrackets("')' + x)", 'f(', ''), "')' + x)");
      assert.equal(balanceBrackets('x) // )', 'f(', ''), 'x) // )');
      assert.equal(balanceBrackets('x)', 'f(/* ( */', ''), 'x)');
      assert.equal(balanceBrackets('b)', 'const s = "(";\nf(', ''), 'b)');
    });
  });
});
