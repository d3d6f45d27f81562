// Completion prompts (src/core/completion/prompt.ts) with the real lens-tiny tokenizer: FIM in PSM order, token
// budgets, and a prefix window that stays put while typing so that consecutive prompts share their first tokens.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '../../src/core/tokenizer/tokenizer';
import { PromptBuilder } from '../../src/core/completion/prompt';
import { commonPrefix } from '../../src/core/session/generate';
import { lensTiny, root } from './helpers/modelFolders';

const tok = Tokenizer.fromFile(path.join(lensTiny, 'tokenizer.json'));
const fim = { prefix: 1, middle: 2, suffix: 3 };
const code = fs.readFileSync(path.join(root, 'samples/greet.ts'), 'utf8');
const long = Array.from({ length: 40 }, (_, i) => code.replace(/greet/g, `greet${i}`)).join('\n');

describe('completion prompts', () => {
  it('puts prefix and suffix in PSM order with the FIM tokens', () => {
    const b = new PromptBuilder(tok, fim);
    const p = b.build('const a = ', ';\nconsole.log(a);\n', { prefixTokens: 512, suffixTokens: 128 });
    assert.equal(p.fim, true);
    assert.deepEqual(p.ids, [1, ...tok.ids('const a = '), 3, ...tok.ids(';\nconsole.log(a);\n'), 2]);
    assert.equal(p.prefixStart, 0);
    assert.equal(p.prefixTokens + p.suffixTokens + 3, p.ids.length);
  });

  it('is a plain prompt when nothing but whitespace follows, FIM is off, or the model has no FIM tokens', () => {
    const plain = tok.ids('let x = ');
    const whole = (p: { ids: number[]; heal?: number }) => (p.heal === undefined ? p.ids : [...p.ids, p.heal]);
    assert.deepEqual(whole(new PromptBuilder(tok, fim).build('let x = ', '\n\n  ', { prefixTokens: 512, suffixTokens: 128 })), plain);
    assert.deepEqual(whole(new PromptBuilder(tok, fim).build('let x = ', 'y;', { prefixTokens: 512, suffixTokens: 128, fim: false })), plain);
    assert.deepEqual(whole(new PromptBuilder(tok, undefined).build('let x = ', 'y;', { prefixTokens: 512, suffixTokens: 128 })), plain);
    assert.equal(new PromptBuilder(tok, fim).build('let x = ', 'y;', { prefixTokens: 512, suffixTokens: 0 }).fim, false);
  });

  it('keeps the prefix within its budget, starting at a line start', () => {
    const b = new PromptBuilder(tok, fim);
    const p = b.build(long, '', { prefixTokens: 512, suffixTokens: 128 });
    assert.ok(p.prefixTokens <= 512 && p.prefixTokens > 400, `${p.prefixTokens} tokens`);
    assert.equal(long[p.prefixStart - 1], '\n');
    assert.deepEqual([...p.ids, p.heal], tok.ids(long.slice(p.prefixStart)));
  });

  it('takes the last token off a plain prompt for token healing, and leaves FIM prompts whole', () => {
    const b = new PromptBuilder(tok, fim);
    const ids = tok.ids('const total = ');
    const p = b.build('const total = ', '', { prefixTokens: 512, suffixTokens: 128 });
    assert.deepEqual(p.ids, ids.slice(0, -1));
    assert.equal(p.heal, ids[ids.length - 1]);
    assert.equal(tok.tokenText(p.heal!), ' ', 'the trailing space is healed');
    assert.equal(b.build('const total = ', '', { prefixTokens: 512, suffixTokens: 128, heal: false }).heal, undefined);
    assert.equal(b.build('const total = ', 'x;', { prefixTokens: 512, suffixTokens: 128 }).heal, undefined, 'FIM: trained on prefixes cut anywhere');
    assert.equal(new PromptBuilder(tok, fim).build('x', '', { prefixTokens: 512, suffixTokens: 128 }).heal, undefined, 'a one-token prompt stays whole');
  });

  it('keeps the suffix within its budget, ending at a line end', () => {
    const b = new PromptBuilder(tok, fim);
    const p = b.build('x', long, { prefixTokens: 512, suffixTokens: 128 });
    assert.ok(p.suffixTokens <= 128 && p.suffixTokens > 80, `${p.suffixTokens} tokens`);
    assert.equal(long[p.suffixLength - 1], '\n');
  });

  it('cuts a single line longer than the budget at a token boundary', () => {
    const line = 'x'.repeat(5000);
    const p = new PromptBuilder(tok, fim).build(line, '', { prefixTokens: 64, suffixTokens: 0 });
    assert.ok(p.prefixTokens <= 64 && p.prefixTokens > 50);
    const s = new PromptBuilder(tok, fim).build('a', line, { prefixTokens: 64, suffixTokens: 32 });
    assert.ok(s.suffixTokens <= 32);
  });

  it('keeps the window where it was while typing, so prompts share all but the tokens of the word being typed', () => {
    const b = new PromptBuilder(tok, fim);
    const typed = '\nexport function next(n: number) {\n  return n + 1;\n}\n';
    const cut = long.length - 2000;
    let prev = b.build(long.slice(0, cut), '', { prefixTokens: 512, suffixTokens: 128 });
    let moves = 0;
    for (let i = 1; i <= typed.length; i++) {
      const p = b.build(long.slice(0, cut) + typed.slice(0, i), '', { prefixTokens: 512, suffixTokens: 128 });
      assert.ok(p.prefixTokens <= 512);
      const shared = commonPrefix(prev.ids, p.ids);
      if (p.prefixStart !== prev.prefixStart) moves++;
      // Only the word being typed is tokenized anew ("functio" is several tokens, "function" one).
      else assert.ok(shared >= prev.ids.length - 6, `keystroke ${i}: shares ${shared} of ${prev.ids.length}`);
      prev = p;
    }
    // The window starts full (512 tokens); it moves once the typing overflows it, then leaves a quarter free.
    assert.ok(moves <= 1, `${moves} moves`);
  });

  it('moves the window to leave a quarter of the budget free once the text outgrows it', () => {
    const b = new PromptBuilder(tok, fim);
    const first = b.build(long.slice(0, 20000), '', { prefixTokens: 256, suffixTokens: 0 });
    assert.ok(first.prefixTokens > 230);
    const grown = b.build(long.slice(0, 20400), '', { prefixTokens: 256, suffixTokens: 0 });
    assert.ok(grown.prefixTokens <= 192 + 20, `${grown.prefixTokens} tokens after the move`);
    const again = b.build(long.slice(0, 20410), '', { prefixTokens: 256, suffixTokens: 0 });
    assert.equal(again.prefixStart, grown.prefixStart);
  });

  it('starts afresh, with the whole budget, in another text', () => {
    const b = new PromptBuilder(tok, fim);
    b.build(long, '', { prefixTokens: 256, suffixTokens: 0 });
    const other = 'import * as fs from "node:fs";\n'.repeat(200);
    const p = b.build(other, '', { prefixTokens: 256, suffixTokens: 0 });
    assert.ok(p.prefixTokens > 230, `${p.prefixTokens}`);
  });
});
