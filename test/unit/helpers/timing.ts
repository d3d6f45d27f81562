// Throughput figures the tokenizer tests print: the middle of three timed runs after an untimed one.
export function middleOfThreeMs(f: () => unknown): number {
  f();
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    f();
    runs.push(performance.now() - t0);
  }
  return runs.sort((a, b) => a - b)[1];
}
