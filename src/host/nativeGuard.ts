// A native abort inside onnxruntime-node ends the whole extension host, every extension in it. So the host marks a
// native load before it starts and clears the mark once the worker has answered; a mark still there at the next
// activation means the last native load took VS Code's extension host down, and LLM Lens stays on WebAssembly
// until the person asks to try native again. No vscode import: unit tests check it directly.
import * as fs from 'node:fs';
import * as path from 'node:path';

export class NativeGuard {
  constructor(private readonly dir: string) {}

  private get file(): string {
    return path.join(this.dir, 'native-runtime-loading.json');
  }

  /** A native load began in an earlier session and never reported back. */
  crashedBefore(): boolean {
    return fs.existsSync(this.file);
  }

  begin(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(this.file, JSON.stringify({ pid: process.pid, at: new Date().toISOString() }));
  }

  /** The worker answered (on whichever runtime), or the person asked to try native again. */
  clear(): void {
    fs.rmSync(this.file, { force: true });
  }
}
