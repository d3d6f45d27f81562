// Embeddings tab: every token's input vector as a heatmap row with its norm, the cosine-similarity
// matrix, the chosen token's nearest vocabulary neighbours, and a 2-D PCA map (which may come after the rest).
import { el } from './dom';
import { fmt, num, percent, predictionLabel, tokenLabel } from './format';
import { decode } from './grid';
import { fitText, hideTip, legend, pointer, showTip, surface } from './canvas';
import { matrix, robustMax, rowHeatmap } from './heatmap';
import { dataTable } from './table';
import { css, diverging, theme } from './theme';
import type { ViewCtx } from './viewContext';

/** About `want` evenly spaced column labels: 0, step, 2·step ... and the last column. */
export function sparseLabels(cols: number, want = 8): (c: number) => string | undefined {
  const raw = cols / want;
  const pow = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  const step = [1, 2, 4, 5, 8, 10].map((k) => k * pow).find((k) => k >= raw) ?? raw;
  return (c) => (c === cols - 1 || c % step === 0 ? String(c) : undefined);
}

export function renderEmbeddings(ctx: ViewCtx): HTMLElement {
  const { data, ui, s } = ctx;
  const th = theme();
  // Rotary positions (Llama family): the input vector is the token's own, with nothing added for its position.
  const rotary = data.model.architecture === 'llama';
  const T = data.tokens.length;
  const E = decode(data.embeddings);
  const d = E.cols;
  const scale = robustMax(E.values);
  const label = (i: number) => tokenLabel(data.tokens[i], 14);
  const maxNorm = Math.max(...data.inputNorms, 1e-9);

  const heat = rowHeatmap({
    owner: data.embeddings,
    key: `emb:${scale}`,
    rows: T,
    cols: d,
    width: ctx.width,
    label: fmt(s.embeddingsChart, T, d),
    dataKey: 'emb-heatmap',
    rowLabel: label,
    color: (r, c) => diverging(th, E.at(r, c) / scale),
    tip: (r, c) => fmt(s.embeddingTip, tokenLabel(data.tokens[r], 24), c, num(E.at(r, c), 3)),
    chosenRow: ui.chosen,
    onRow: ctx.choose,
    colLabel: sparseLabels(d),
    right: {
      width: 84,
      draw: (c2, r, x, y, w, h) => {
        const n = data.inputNorms[r];
        c2.fillStyle = css(th.muted, 0.45);
        c2.fillRect(x, y + Math.max(0, h / 2 - 3), Math.max(1, (w - 36) * (n / maxNorm)), Math.min(6, Math.max(1, h - 1)));
        if (h >= 11) {
          c2.fillStyle = css(r === ui.chosen ? th.fg : th.muted);
          c2.font = th.font;
          c2.textAlign = 'right';
          c2.textBaseline = 'middle';
          c2.fillText(num(n, 1), x + w, y + h / 2);
        }
      },
    },
  });
  ctx.tokenKeys(heat.canvas);

  const vectors = el(
    'section',
    {},
    el('h2', {}, fmt(s.vectorsHeading, d)),
    el('p', { class: 'explain' }, fmt(s['explain.vectors'], d)),
    el('div', { class: 'legend-row' }, legend(s.valueLegend, num(-scale, 2), `+${num(scale, 2)}`, (x) => diverging(th, x * 2 - 1)), el('span', { class: 'muted' }, s.normColumn)),
    el('div', { class: 'chart' }, heat.canvas),
    dataTable(
      s.asTable,
      [s.colToken, s.colNorm, rotary ? s.colTokenNormRotary : s.colTokenNorm, s.colLargestDims],
      () =>
        data.tokens.map((t, i) => {
          const dims = Array.from({ length: d }, (_, c) => c)
            .sort((a, b) => Math.abs(E.at(i, b)) - Math.abs(E.at(i, a)))
            .slice(0, 3)
            .map((c) => `${c}: ${num(E.at(i, c), 3)}`)
            .join(', ');
          return [`${i + 1}. ${tokenLabel(t, 30)}`, num(data.inputNorms[i], 2), num(data.embeddingNorms[i] ?? NaN, 2), dims];
        }),
      'emb-table',
    ),
  );

  // Similarity
  const S = decode(data.similarity);
  const sim = matrix({
    owner: data.similarity,
    key: 'sim',
    n: T,
    size: Math.min(ctx.width, 520),
    label: fmt(s.similarityChart, T),
    dataKey: 'sim-matrix',
    tokenLabel: label,
    color: (r, c) => diverging(th, S.at(r, c)),
    tip: (r, c) => fmt(s.similarityTip, tokenLabel(data.tokens[r], 20), tokenLabel(data.tokens[c], 20), num(S.at(r, c), 3)),
    chosen: ui.chosen,
    chosenColumn: true,
    onCell: (r) => ctx.choose(r),
    rowTitle: s.tokensAxis,
    colTitle: s.tokensAxis,
  });
  ctx.tokenKeys(sim.canvas);
  const similarity = el(
    'section',
    { class: 'col' },
    el('h2', {}, s.similarityHeading),
    el('p', { class: 'explain' }, rotary ? s['explain.similarityRotary'] : s['explain.similarity']),
    el('div', { class: 'legend-row' }, legend(s.cosineLegend, '−1', '+1', (x) => diverging(th, x * 2 - 1), 160)),
    el('div', { class: 'chart' }, sim.canvas),
    dataTable(
      s.asTable,
      [s.colToken, s.colMostSimilar],
      () =>
        data.tokens.map((t, i) => {
          const best = Array.from({ length: T }, (_, j) => j)
            .filter((j) => j !== i)
            .sort((a, b) => S.at(i, b) - S.at(i, a))
            .slice(0, 3)
            .map((j) => `${tokenLabel(data.tokens[j], 20)} (${num(S.at(i, j), 2)})`)
            .join(', ');
          return [`${i + 1}. ${tokenLabel(t, 30)}`, best];
        }),
      'sim-table',
    ),
  );

  // Neighbours
  const neighbours = el('section', { class: 'col' }, el('h2', {}, fmt(s.neighboursHeading, tokenLabel(data.tokens[ui.chosen], 20))), el('p', { class: 'explain' }, s['explain.neighbours']));
  if (data.chosen && data.chosen.index === ui.chosen) {
    const list = el('ol', { class: 'bars' });
    for (const n of data.chosen.neighbours) {
      const bar = el('span', { class: 'bar' });
      bar.style.width = `${Math.max(0, n.cosine) * 100}%`;
      list.append(el('li', {}, el('span', { class: 'tok mono' }, predictionLabel(n.text, 24)), el('span', { class: 'track' }, bar), el('span', { class: 'num' }, num(n.cosine, 3))));
    }
    neighbours.append(list);
  } else {
    neighbours.append(el('p', { class: 'muted' }, s.updating));
  }

  return el('div', {}, el('p', { class: 'explain' }, rotary ? s['explain.embeddingsRotary'] : s['explain.embeddings']), vectors, el('div', { class: 'row' }, similarity, neighbours), pcaSection(ctx));
}

function pcaSection(ctx: ViewCtx): HTMLElement {
  const { data, ui, s } = ctx;
  const th = theme();
  const L = data.model.nLayer;
  const select = el('select', { id: 'pca-layer', 'data-key': 'pca-layer' }, el('option', { value: '-1' }, s.pcaInput));
  for (let l = 0; l < L; l++) select.append(el('option', { value: String(l) }, fmt(s.pcaLayer, l)));
  select.append(el('option', { value: String(L) }, s.pcaOutput));
  select.value = String(ui.pcaLayer);
  select.addEventListener('change', () => ctx.setUi({ pcaLayer: Number(select.value) }));

  const W = ctx.width;
  const H = Math.round(Math.min(440, Math.max(260, W * 0.55)));
  const section = (status: HTMLElement, ...body: HTMLElement[]) =>
    el('section', {}, el('h2', {}, s.pcaHeading), el('p', { class: 'explain' }, s['explain.pca']), el('div', { class: 'options' }, el('label', { for: 'pca-layer' }, s.pcaProject), select, status), ...body);
  const pca = data.pca;
  if (!pca) {
    // The analysis came without the map (another tab was showing): the host asks for it, and a patch brings it. The
    // placeholder keeps the chart's size, so the page does not jump when it arrives.
    const pending = el('div', { class: 'chart pca-pending', 'data-key': 'pca-pending', role: 'status' }, el('p', { class: 'muted' }, s.pcaComputing));
    pending.style.height = `${H}px`;
    pending.style.maxWidth = `${W}px`;
    return section(el('span'), pending);
  }
  const { points, explained } = pca;
  const sfc = surface(W, H, fmt(s.pcaChart, data.tokens.length));
  sfc.canvas.dataset.key = 'pca';
  const c = sfc.ctx;
  const pad = { l: 28, r: 16, t: 12, b: 28 };
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0 || 1)) * (W - pad.l - pad.r);
  const sy = (y: number) => H - pad.b - ((y - y0) / (y1 - y0 || 1)) * (H - pad.t - pad.b);
  c.strokeStyle = css(th.border);
  c.lineWidth = 1;
  c.strokeRect(pad.l + 0.5, pad.t + 0.5, W - pad.l - pad.r, H - pad.t - pad.b);
  c.fillStyle = css(th.muted);
  c.font = th.font;
  c.textAlign = 'center';
  c.textBaseline = 'alphabetic';
  c.fillText(fmt(s.pcAxis, 1, percent(explained[0], 0)), pad.l + (W - pad.l - pad.r) / 2, H - 8);
  c.save();
  c.translate(16, pad.t + (H - pad.t - pad.b) / 2);
  c.rotate(-Math.PI / 2);
  c.fillText(fmt(s.pcAxis, 2, percent(explained[1], 0)), 0, 0);
  c.restore();
  // The path through the text, token by token.
  c.strokeStyle = css(th.muted, 0.25);
  c.beginPath();
  points.forEach((p, i) => (i === 0 ? c.moveTo(sx(p[0]), sy(p[1])) : c.lineTo(sx(p[0]), sy(p[1]))));
  c.stroke();
  const labelAll = points.length <= 80;
  c.font = th.mono;
  c.textAlign = 'left';
  c.textBaseline = 'middle';
  points.forEach((p, i) => {
    if (i === ui.chosen) return;
    c.fillStyle = css(th.palette[0], 0.85);
    c.beginPath();
    c.arc(sx(p[0]), sy(p[1]), 3.5, 0, Math.PI * 2);
    c.fill();
    if (labelAll) {
      c.fillStyle = css(th.muted);
      c.fillText(fitText(c, tokenLabel(data.tokens[i], 10), 90), sx(p[0]) + 6, sy(p[1]));
    }
  });
  const cp = points[ui.chosen];
  if (cp) {
    c.fillStyle = css(th.focus);
    c.beginPath();
    c.arc(sx(cp[0]), sy(cp[1]), 6, 0, Math.PI * 2);
    c.fill();
    c.strokeStyle = css(th.bg);
    c.lineWidth = 2;
    c.stroke();
    c.fillStyle = css(th.fg);
    c.font = `600 ${th.mono}`;
    c.fillText(fitText(c, tokenLabel(data.tokens[ui.chosen], 16), 140), sx(cp[0]) + 9, sy(cp[1]));
  }
  const nearest = (e: MouseEvent) => {
    const m = pointer(sfc.canvas, e);
    let best = -1;
    let bd = 12 * 12;
    points.forEach((p, i) => {
      const dd = (sx(p[0]) - m.x) ** 2 + (sy(p[1]) - m.y) ** 2;
      if (dd < bd) {
        bd = dd;
        best = i;
      }
    });
    return best;
  };
  sfc.canvas.addEventListener('mousemove', (e) => {
    const i = nearest(e);
    if (i >= 0) showTip(`${i + 1}. ${tokenLabel(data.tokens[i], 30)}`, e.clientX, e.clientY);
    else hideTip();
  });
  sfc.canvas.addEventListener('mouseleave', hideTip);
  sfc.canvas.addEventListener('click', (e) => {
    const i = nearest(e);
    if (i >= 0) ctx.choose(i);
  });
  sfc.canvas.classList.add('clickable');
  ctx.tokenKeys(sfc.canvas);

  // The map of the layer shown before, faded, while the chosen layer's is computed.
  const stale = pca.layer !== ui.pcaLayer;
  return section(
    stale ? el('span', { class: 'muted', role: 'status' }, s.pcaComputing) : el('span'),
    el('div', { class: `chart${stale ? ' stale' : ''}` }, sfc.canvas),
    dataTable(s.asTable, [s.colToken, 'PC1', 'PC2'], () => points.map((p, i) => [`${i + 1}. ${tokenLabel(data.tokens[i], 30)}`, num(p[0], 3), num(p[1], 3)]), 'pca-table'),
  );
}
