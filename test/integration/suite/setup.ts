// Creates the suite's Mocha instance and installs the bdd globals (describe, it, before, ...)
// before any *.test.ts module is evaluated; index.ts imports this module first.
import Mocha from 'mocha/lib/mocha.cjs';

export interface TestReport {
  stats: { tests: number; passes: number; failures: number; pending: number; duration: number };
  /** The run in the shape of mocha's spec reporter, for the harness to print. */
  lines: string[];
  failures: { title: string; error: string }[];
}

export const report: TestReport = {
  stats: { tests: 0, passes: 0, failures: 0, pending: 0, duration: 0 },
  lines: [],
  failures: [],
};

/** A spec-like reporter that keeps its lines (the extension host's stdout goes nowhere useful). */
class CollectingReporter extends Mocha.reporters.Base {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    let depth = 0;
    const pad = () => '  '.repeat(depth);
    const out = (line: string) => {
      report.lines.push(line);
      console.log(`[integration] ${line}`);
    };
    const C = Mocha.Runner.constants;
    runner.on(C.EVENT_SUITE_BEGIN, (s: Mocha.Suite) => {
      if (s.title) out(`${pad()}${s.title}`);
      depth++;
    });
    runner.on(C.EVENT_SUITE_END, () => void depth--);
    runner.on(C.EVENT_TEST_PASS, (t: Mocha.Test) => {
      report.stats.passes++;
      out(`${pad()}✔ ${t.title} (${t.duration ?? 0} ms)`);
    });
    runner.on(C.EVENT_TEST_PENDING, (t: Mocha.Test) => {
      report.stats.pending++;
      out(`${pad()}- ${t.title}`);
    });
    runner.on(C.EVENT_TEST_FAIL, (t: Mocha.Test, err: Error) => {
      report.stats.failures++;
      report.failures.push({ title: t.fullTitle(), error: err?.stack ?? String(err) });
      out(`${pad()}✘ ${report.failures.length}) ${t.title}`);
    });
  }
}

export const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, slow: 5_000, color: false, reporter: CollectingReporter });
if (process.env.LLM_LENS_TEST_GREP) mocha.grep(process.env.LLM_LENS_TEST_GREP);
mocha.suite.emit('pre-require', globalThis, 'integration', mocha);

/** Runs every suite registered so far; rejects (carrying the report) when any test failed. */
export function runRegistered(): Promise<TestReport> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    mocha.run((failures) => {
      report.stats.duration = Date.now() - t0;
      report.stats.tests = report.stats.passes + report.stats.failures + report.stats.pending;
      if (failures > 0) reject(Object.assign(new Error(`${failures} integration test(s) failed`), { report }));
      else resolve(report);
    });
  });
}
