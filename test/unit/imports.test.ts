// The layout's rules, checked on the source: no import circles in src/ (type-only imports count too: a circle
// of types still ties the modules' design together), and src/'s top level holds only extension.ts and folders.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// Compiled to out/test/unit/: the repository is three folders up.
const SRC = path.resolve(__dirname, '../../../src');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : /\.ts$/.test(e.name) && !/\.d\.ts$/.test(e.name) ? [p] : [];
  });
}

/** Relative imports of a file, resolved to files (export ... from counts as an import). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const base = path.resolve(path.dirname(file), m[1]);
    const hit = [base, `${base}.ts`, path.join(base, 'index.ts')].find((c) => fs.existsSync(c) && fs.statSync(c).isFile() && c.endsWith('.ts'));
    if (hit) out.push(hit);
  }
  return out;
}

/** Every elementary circle found by a depth-first search (each reported once, from its first file). */
function circles(files: string[]): string[][] {
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') found.push([...stack.slice(stack.indexOf(g)), g]);
      else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return found;
}

describe('source layout', () => {
  it('has no import circles in src/', () => {
    const found = circles(tsFiles(SRC)).map((c) => c.map((f) => path.relative(SRC, f)).join(' -> '));
    assert.deepEqual(found, []);
  });

  it('finds a circle when there is one (the check itself works)', () => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'circle-'));
    fs.writeFileSync(path.join(dir, 'a.ts'), "import { b } from './b';\nexport const a = b;\n");
    fs.writeFileSync(path.join(dir, 'b.ts'), "import type { a } from './a';\nexport const b: typeof a | 1 = 1;\n");
    assert.equal(circles(tsFiles(dir)).length, 1);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps only extension.ts and folders at the top of src/', () => {
    const files = fs.readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
    assert.deepEqual(files, ['extension.ts']);
  });
});
