// The k largest of many scores (a vocabulary's logits or cosines): a small sorted list beats sorting them all.

/** Indices of the `k` largest `scores`, largest first; `skip` is left out. */
export function topIndices(scores: ArrayLike<number>, k: number, skip = -1): number[] {
  const best: number[] = [];
  for (let v = 0; v < scores.length; v++) {
    if (v === skip) continue;
    const s = scores[v];
    if (best.length === k && !(s > scores[best[k - 1]])) continue;
    let i = best.length < k ? best.push(v) - 1 : k - 1;
    while (i > 0 && scores[best[i - 1]] < s) {
      best[i] = best[i - 1];
      i--;
    }
    best[i] = v;
  }
  return best;
}
