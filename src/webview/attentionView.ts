// Attention tab: layer and head pickers, the attention matrix, a head view (lines from the chosen
// token to the tokens it attends to), and the model view (every layer x head; a click opens it).
import type { Grid } from '../protocol/webview';
import { el } from './dom';
import { fmt, num, tokenLabel } from './format';
import { decode, type Matrix } from './grid';
import { cellImage, drawCells, fitText, hideTip, legend, pointer, showTip, surface } from './canvas';
import { matrix } from './heatmap';
import { dataTable } from './table';
import { css, sequential, theme, type Rgb } from './theme';
import type { ViewCtx } from './viewContext';

/** Attention weights are mostly tiny; a square-root scale keeps the small ones visible. */
const gamma = (w: number) => Math.sqrt(Math.max(0, w));

export function renderAttention(ctx: ViewCtx): HTMLElement {
  const { data, ui, s } = ctx;
  const th = theme();
  const L = data.model.nLayer;
  const H = data.model.nHead;
  const parts: HTMLElement[] = [el('p', { class: 'explain' }, s['explain.attention'])];
  const layer = el('select', { id: 'att-layer', 'data-key': 'att-layer' });
  for (let l = 0; l < L; l++) layer.append(el('option', { value: String(l) }, fmt(s.layerN, l)));
  layer.value = String(ui.layer);
  layer.addEventListener('change', () => ctx.setUi({ layer: Number(layer.value) }));
  const group = kvGroupSize(data.model.nHead, data.model.nKvHeads);
  const head = el('select', { id: 'att-head', 'data-key': 'att-head' }, el('option', { value: '-1' }, s.averageHeads));
  for (let h = 0; h < H; h++) head.append(el('option', { value: String(h) }, group ? fmt(s.headKvN, h, Math.floor(h / group)) : fmt(s.headN, h)));
  head.value = String(ui.head);
  head.addEventListener('change', () => ctx.setUi({ head: Number(head.value) }));
  parts.push(el('div', { class: 'options' }, el('label', { for: 'att-layer' }, s.layer), layer, el('label', { for: 'att-head' }, s.head), head));
  if (group) parts.push(kvGroupsNote(ctx, group));

  const grid = pick(data.attention, ui.layer, ui.head);
  if (ctx.attentionMissing) {
    parts.push(el('div', { class: 'notice info', role: 'status' }, el('p', {}, ctx.attentionMissing)));
  } else if (!grid) {
    parts.push(el('p', { class: 'muted', role: 'status' }, s.updating));
  } else {
    const A = decode(grid);
    const T = A.rows;
    const which = ui.head === -1 ? fmt(s.averageOfLayer, ui.layer) : fmt(s.layerHead, ui.layer, ui.head);
    const m = matrix({
      owner: grid,
      key: 'att',
      n: T,
      size: Math.min(ctx.width, 560),
      label: fmt(s.attentionChart, which, T),
      dataKey: 'att-matrix',
      tokenLabel: (i) => tokenLabel(data.tokens[i], 14),
      color: (r, c) => (c > r ? undefined : sequential(th, th.seq, gamma(A.at(r, c)))),
      tip: (r, c) => fmt(s.attentionTip, tokenLabel(data.tokens[r], 20), tokenLabel(data.tokens[c], 20), num(A.at(r, c) * 100, 1)),
      chosen: ui.chosen,
      onCell: (r) => ctx.choose(r),
      rowTitle: s.queryAxis,
      colTitle: s.keyAxis,
    });
    ctx.tokenKeys(m.canvas);
    parts.push(
      el('h2', {}, fmt(s.matrixHeading, which)),
      el('p', { class: 'explain' }, s['explain.matrix']),
      el('div', { class: 'legend-row' }, legend(s.weightLegend, '0', '100%', (x) => sequential(th, th.seq, gamma(x)), 160)),
      el('div', { class: 'chart' }, m.canvas),
      dataTable(s.asTable, [s.colToken, s.colAttendsTo], () => data.tokens.map((t, i) => [`${i + 1}. ${tokenLabel(t, 30)}`, topKeys(A, i, 3, ctx)]), 'att-table'),
      el('h2', {}, fmt(s.headViewHeading, tokenLabel(data.tokens[ui.chosen], 20))),
      el('p', { class: 'explain' }, s['explain.headView']),
      headView(ctx, A),
      el('p', { class: 'muted' }, `${s.colAttendsTo}: ${topKeys(A, ui.chosen, 6, ctx)}`),
    );
  }
  parts.push(el('h2', {}, s.modelViewHeading), el('p', { class: 'explain' }, s['explain.modelView']), modelView(ctx));
  return el('div', {}, ...parts);
}

/**
 * Query heads per key/value head when the model groups them (grouped-query attention: query head h reads key/value
 * head floor(h / group)); undefined when every query head has its own, or the numbers do not divide.
 */
function kvGroupSize(nHead: number, nKvHeads: number | undefined): number | undefined {
  if (!nKvHeads || nKvHeads <= 0 || nKvHeads >= nHead || nHead % nKvHeads !== 0) return undefined;
  return nHead / nKvHeads;
}

/** Why some heads come in groups, and which query heads share each key/value head (the first eight groups). */
function kvGroupsNote(ctx: ViewCtx, group: number): HTMLElement {
  const { data, s } = ctx;
  const K = data.model.nKvHeads;
  const shown = Math.min(K, 8);
  const groups = Array.from({ length: shown }, (_, k) => fmt(s.kvGroup, k * group, (k + 1) * group - 1, k));
  const list = groups.join(', ') + (K > shown ? ', …' : '.');
  return el(
    'div',
    { class: 'kv-groups', 'data-key': 'kv-groups' },
    el('p', { class: 'explain' }, fmt(s['explain.kvGroups'], data.model.nHead, K, group)),
    el('p', { class: 'muted small' }, list.charAt(0).toLocaleUpperCase() + list.slice(1)),
  );
}

function pick(att: ViewCtx['data']['attention'], layer: number, head: number): Grid | null {
  if (!att || att.layer !== layer) return null;
  return head === -1 ? att.average : (att.heads[head] ?? null);
}

function topKeys(A: Matrix, q: number, k: number, ctx: ViewCtx): string {
  return Array.from({ length: q + 1 }, (_, j) => j)
    .sort((a, b) => A.at(q, b) - A.at(q, a))
    .slice(0, k)
    .map((j) => `${tokenLabel(ctx.data.tokens[j], 16)} ${num(A.at(q, j) * 100, 0)}%`)
    .join(', ');
}

/** Two columns of tokens; lines from the chosen token (left) to each token it attends to (right). */
function headView(ctx: ViewCtx, A: Matrix): HTMLElement {
  const { data, ui, s } = ctx;
  const th = theme();
  const T = A.rows;
  const q = ui.chosen;
  // Tokens after the chosen one cannot be attended to: show only a few of them.
  const shown = Math.min(T, Math.max(q + 4, 12));
  // At most about 1100 px tall: rows of 2 px for long texts. A taller canvas (2,000 px for 512 tokens at 4 px a row)
  // made every redraw lay out and paint 8 megapixels on a HiDPI screen, for rows too thin to label anyway.
  const rh = Math.max(2, Math.min(18, Math.floor(1100 / shown)));
  const labels = rh >= 11;
  const colW = Math.min(180, Math.max(90, ctx.width * 0.25));
  const W = Math.min(ctx.width, colW * 2 + 260);
  const Hh = shown * rh + 8;
  const sfc = surface(W, Hh, fmt(s.headViewChart, tokenLabel(data.tokens[ui.chosen], 20)));
  sfc.canvas.dataset.key = 'head-view';
  const c = sfc.ctx;
  const row = A.values.subarray(q * T, q * T + T);
  let rowMax = 0;
  for (let j = 0; j <= q; j++) rowMax = Math.max(rowMax, row[j]);
  const xL = colW;
  const xR = W - colW;
  const y = (i: number) => 4 + i * rh + rh / 2;
  c.lineCap = 'round';
  for (let j = 0; j <= q; j++) {
    const w = row[j];
    if (w < 0.002) continue;
    c.strokeStyle = css(th.seq, Math.min(1, w / (rowMax || 1)));
    c.lineWidth = 1 + 3 * w;
    c.beginPath();
    c.moveTo(xL + 4, y(q));
    c.bezierCurveTo((xL + xR) / 2, y(q), (xL + xR) / 2, y(j), xR - 4, y(j));
    c.stroke();
  }
  c.font = th.mono;
  c.textBaseline = 'middle';
  for (let i = 0; i < shown; i++) {
    const w = i <= q ? row[i] : 0;
    const strong = w >= 0.1;
    if (labels || i === q) {
      c.textAlign = 'right';
      c.fillStyle = css(i === q ? th.fg : th.muted, i === q ? 1 : 0.8);
      if (i === q) {
        c.fillStyle = css(th.focus, 0.25);
        c.fillRect(0, y(i) - rh / 2, xL, rh);
        c.fillStyle = css(th.fg);
      }
      c.fillText(fitText(c, tokenLabel(data.tokens[i], 18), colW - 12), xL - 4, y(i));
    }
    if (labels || strong) {
      c.textAlign = 'left';
      const key: Rgb = i > q ? th.border : strong ? th.fg : th.muted;
      c.fillStyle = css(key);
      if (strong) {
        c.fillStyle = css(th.seq, Math.min(0.35, w));
        c.fillRect(xR, y(i) - rh / 2, colW, rh);
        c.fillStyle = css(key);
      }
      c.fillText(fitText(c, tokenLabel(data.tokens[i], 18), colW - 8), xR + 4, y(i));
    }
  }
  const hit = (e: MouseEvent) => {
    const p = pointer(sfc.canvas, e);
    const i = Math.floor((p.y - 4) / rh);
    return i >= 0 && i < shown ? { i, left: p.x < W / 2 } : undefined;
  };
  sfc.canvas.addEventListener('mousemove', (e) => {
    const h = hit(e);
    if (!h) return hideTip();
    if (h.left) showTip(`${h.i + 1}. ${tokenLabel(data.tokens[h.i], 30)}`, e.clientX, e.clientY);
    else showTip(fmt(s.attentionTip, tokenLabel(data.tokens[q], 20), tokenLabel(data.tokens[h.i], 20), num((h.i <= q ? row[h.i] : 0) * 100, 1)), e.clientX, e.clientY);
  });
  sfc.canvas.addEventListener('mouseleave', hideTip);
  sfc.canvas.addEventListener('click', (e) => {
    const h = hit(e);
    if (h) ctx.choose(h.i);
  });
  sfc.canvas.classList.add('clickable');
  ctx.tokenKeys(sfc.canvas);
  return el('div', { class: 'chart' }, sfc.canvas);
}

/** Small multiples: one thumbnail per layer and head, plus each layer's average; a click opens it. */
function modelView(ctx: ViewCtx): HTMLElement {
  const { data, ui, s } = ctx;
  const th = theme();
  const thumbs = data.thumbnails;
  if (!thumbs || thumbs.length === 0) return el('p', { class: 'muted' }, s.noThumbnails);
  const H = data.model.nHead;
  const size = Math.max(28, Math.min(64, Math.floor((ctx.width - 90) / (H + 1)) - 6));
  const table = el('table', { class: 'multiples', role: 'grid', 'aria-label': s.modelViewHeading });
  const headRow = el('tr', {}, el('th', {}, ''));
  for (let h = 0; h < H; h++) headRow.append(el('th', { scope: 'col' }, String(h)));
  headRow.append(el('th', { scope: 'col' }, s.avgShort));
  // Grouped models: a row above the head numbers spans each group of query heads under its key/value head.
  const group = kvGroupSize(H, data.model.nKvHeads);
  const groupRow = group ? el('tr', { class: 'kv-group-row' }, el('th', {}, '')) : undefined;
  if (group && groupRow) {
    for (let k = 0; k < H / group; k++) {
      const full = fmt(s.kvGroup, k * group, (k + 1) * group - 1, k);
      groupRow.append(el('th', { scope: 'col', colspan: String(group), class: 'kv-group', title: full }, fmt(s.kvShort, k)));
    }
    groupRow.append(el('th', {}, ''));
  }
  table.append(el('thead', {}, ...(groupRow ? [groupRow] : []), headRow));
  const body = el('tbody');
  thumbs.forEach((layerThumbs, l) => {
    const tr = el('tr', {}, el('th', { scope: 'row' }, fmt(s.layerN, l)));
    const mats = layerThumbs.map(decode);
    const avg = averageOf(mats);
    [...mats, avg].forEach((m, h) => {
      const isAvg = h === H;
      const head = isAvg ? -1 : h;
      const current = ui.layer === l && ui.head === head;
      const sfc = surface(size, size, '', false);
      const k = m.max > 0 ? 1 / m.max : 1;
      // Cached per thumbnail (the average per layer) and theme: switching heads redraws nothing here.
      const owner = isAvg ? layerThumbs : layerThumbs[h];
      const image = cellImage(owner, 'thumb', m.rows, m.cols, (r, c2) => (c2 > r ? th.bg : sequential(th, th.seq, gamma(m.at(r, c2) * k))));
      drawCells(sfc.ctx, image, 0, 0, size, size);
      const label = isAvg ? fmt(s.averageOfLayer, l) : fmt(s.layerHead, l, h);
      const b = el('button', { type: 'button', class: `thumb${current ? ' current' : ''}`, 'aria-label': label, title: label, 'aria-pressed': String(current), 'data-key': `thumb-${l}-${head}` }, sfc.canvas);
      b.addEventListener('click', () => ctx.setUi({ layer: l, head }));
      tr.append(el('td', {}, b));
    });
    body.append(tr);
  });
  table.append(body);
  return el('div', { class: 'scroll-x' }, table);
}

function averageOf(ms: Matrix[]): Matrix {
  const { rows, cols } = ms[0];
  const values = new Float32Array(rows * cols);
  for (const m of ms) for (let i = 0; i < values.length; i++) values[i] += m.values[i] / ms.length;
  let max = 0;
  for (const v of values) max = Math.max(max, v);
  return { rows, cols, values, max, at: (r, c) => values[r * cols + c] };
}
