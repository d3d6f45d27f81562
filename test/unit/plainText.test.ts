// Foreign text in notifications cannot form a command link (VS Code renders [label](command:...) as one).
import * as assert from 'node:assert/strict';
import { noLinks, quoted } from '../../src/host/plainText';

// VS Code's notification link syntax (its parseLinkedText): [label](target "title").
const LINK = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/gi;

describe('text from outside in notifications', () => {
  it('breaks every link a workspace setting or a hub string could carry', () => {
    const hostile = [
      '[Open](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%20-rf%20~%22%7D)',
      'model_type "[x] (command:llmLens.showLog)" is not supported',
      '![img](https://example.invalid/p.png)',
      'a [link]  (file:///etc/passwd "t")',
    ];
    for (const h of hostile) {
      assert.ok(LINK.test(h.replace(/\]\s+\(/, '](')), `the sample is a link: ${h}`);
      LINK.lastIndex = 0;
      assert.equal(noLinks(h).match(LINK), null, noLinks(h));
      assert.equal(noLinks(h).replace(/\u200b/g, ''), h, 'reads the same');
    }
  });

  it('quotes foreign text on one line, without control characters, bounded', () => {
    assert.equal(quoted('a\nb\u0007c'), 'a bc');
    assert.equal(quoted('x'.repeat(1000)).length, 301);
  });

  it('leaves our own text alone', () => {
    assert.equal(noLinks('LLM Lens could not load the model in /tmp/m (a folder): 3 of 4 files.'), 'LLM Lens could not load the model in /tmp/m (a folder): 3 of 4 files.');
  });
});
