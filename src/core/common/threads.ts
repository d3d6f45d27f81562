// How many threads onnxruntime-web uses when the setting says "auto" (0). Shared by the extension and the benchmark,
// so the benchmark measures what a user gets.

/** Half the logical CPUs (hyper-threads share a core), at least 1, at most 4. */
export function defaultThreads(cpus: number): number {
  return Math.min(4, Math.max(1, Math.ceil(cpus / 2)));
}
