// Guards the suite itself: a *.test.ts beside index.ts that index.ts forgets to import never runs.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

describe('integration suite', () => {
  it('index.ts imports every *.test.ts in test/integration/suite', function () {
    // The bundle lives in out/test/integration/suite; the sources in test/integration/suite.
    const src = path.resolve(__dirname, '../../../../test/integration/suite');
    if (!fs.existsSync(path.join(src, 'index.ts'))) this.skip();
    const index = fs.readFileSync(path.join(src, 'index.ts'), 'utf8');
    const missing = fs
      .readdirSync(src)
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => f.slice(0, -'.ts'.length))
      .filter((name) => !index.includes(`import './${name}';`));
    assert.deepEqual(missing, [], `add to test/integration/suite/index.ts: ${missing.map((m) => `import './${m}';`).join(' ')}`);
  });
});
