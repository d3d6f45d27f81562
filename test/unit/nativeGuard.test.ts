// The mark of a native load: set before it, cleared once the worker answered; still set at the next activation,
// it means the native runtime took the extension host down, and LLM Lens stays on WebAssembly.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NativeGuard } from '../../src/host/nativeGuard';

describe('native runtime guard', () => {
  it('remembers a native load that never reported back, across instances (as across activations)', () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lens-guard-')), 'storage');
    assert.equal(new NativeGuard(dir).crashedBefore(), false);
    new NativeGuard(dir).begin();
    // The extension host died here: the next activation sees the mark.
    assert.equal(new NativeGuard(dir).crashedBefore(), true);
    new NativeGuard(dir).clear();
    assert.equal(new NativeGuard(dir).crashedBefore(), false);
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });
});
