// Two heatmap layouts on canvas: rows of cells with row labels (tokens x dimensions, tokens x
// layers) and a square matrix with labels on both axes (similarity, attention).
import { cellImage, drawCells, fitText, hideTip, pointer, showTip, surface, type Surface } from './canvas';
import { css, theme, type Rgb } from './theme';

export interface RowHeatmapOptions {
  owner: object;
  key: string;
  rows: number;
  cols: number;
  width: number;
  label: string;
  dataKey: string;
  rowLabel(r: number): string;
  color(r: number, c: number): Rgb;
  tip(r: number, c: number): string;
  chosenRow?: number;
  onRow?(r: number): void;
  /** Labels over some columns; returns undefined for columns without one. */
  colLabel?(c: number): string | undefined;
  /** Extra column drawn right of the cells, e.g. a norm bar. */
  right?: { width: number; draw(ctx: CanvasRenderingContext2D, r: number, x: number, y: number, w: number, h: number): void };
  maxHeight?: number;
}

/** Row height that keeps the whole chart within maxHeight, between 2 and 18 px. */
function rowHeight(rows: number, maxHeight: number): number {
  return Math.max(2, Math.min(18, Math.floor(maxHeight / Math.max(1, rows))));
}

export function rowHeatmap(o: RowHeatmapOptions): Surface {
  const th = theme();
  const rh = rowHeight(o.rows, o.maxHeight ?? 640);
  const labels = rh >= 11;
  const labelW = labels ? Math.min(140, Math.max(70, o.width * 0.18)) : 8;
  const rightW = o.right ? o.right.width : 0;
  const top = o.colLabel ? 16 : 2;
  const cellsW = Math.max(40, o.width - labelW - rightW - 4);
  const height = top + o.rows * rh + 4;
  const s = surface(o.width, height, o.label);
  s.canvas.dataset.key = o.dataKey;
  const { ctx } = s;
  const image = cellImage(o.owner, o.key, o.rows, o.cols, o.color);
  drawCells(ctx, image, labelW, top, cellsW, o.rows * rh);
  ctx.textBaseline = 'middle';
  if (labels) {
    ctx.font = th.mono;
    ctx.textAlign = 'right';
    for (let r = 0; r < o.rows; r++) {
      ctx.fillStyle = css(r === o.chosenRow ? th.fg : th.muted);
      ctx.fillText(fitText(ctx, o.rowLabel(r), labelW - 8), labelW - 6, top + r * rh + rh / 2);
    }
  }
  if (o.colLabel) {
    ctx.font = th.font;
    ctx.fillStyle = css(th.muted);
    const cw = cellsW / o.cols;
    let lastEnd = -Infinity;
    for (let c = 0; c < o.cols; c++) {
      const text = o.colLabel(c);
      if (text === undefined) continue;
      const w = ctx.measureText(text).width;
      const x = Math.min(Math.max(labelW + c * cw + cw / 2, labelW + w / 2), labelW + cellsW - w / 2);
      if (x - w / 2 < lastEnd + 6) continue;
      ctx.textAlign = 'center';
      ctx.fillText(text, x, 8);
      lastEnd = x + w / 2;
    }
  }
  if (o.right) for (let r = 0; r < o.rows; r++) o.right.draw(ctx, r, labelW + cellsW + 4, top + r * rh, rightW - 4, rh);
  if (o.chosenRow !== undefined && o.chosenRow >= 0 && o.chosenRow < o.rows) {
    ctx.strokeStyle = css(th.focus);
    ctx.lineWidth = 2;
    const y = top + o.chosenRow * rh;
    ctx.strokeRect(labelW - 1, y - 1, cellsW + 2, Math.max(rh, 2) + 2);
    if (!labels) {
      // Rows too thin for labels: a marker in the margin shows where the chosen one is.
      ctx.fillStyle = css(th.focus);
      ctx.beginPath();
      ctx.moveTo(0, y + rh / 2 - 4);
      ctx.lineTo(6, y + rh / 2);
      ctx.lineTo(0, y + rh / 2 + 4);
      ctx.fill();
    }
  }
  const cellAt = (e: MouseEvent) => {
    const p = pointer(s.canvas, e);
    const r = Math.floor((p.y - top) / rh);
    const c = Math.floor(((p.x - labelW) / cellsW) * o.cols);
    return { r, c, inRow: r >= 0 && r < o.rows, inCell: p.x >= labelW && p.x < labelW + cellsW && c >= 0 && c < o.cols };
  };
  s.canvas.addEventListener('mousemove', (e) => {
    const h = cellAt(e);
    if (h.inRow && h.inCell) showTip(o.tip(h.r, h.c), e.clientX, e.clientY);
    else if (h.inRow) showTip(o.rowLabel(h.r), e.clientX, e.clientY);
    else hideTip();
  });
  s.canvas.addEventListener('mouseleave', hideTip);
  if (o.onRow) {
    s.canvas.classList.add('clickable');
    s.canvas.addEventListener('click', (e) => {
      const h = cellAt(e);
      if (h.inRow) o.onRow!(h.r);
    });
  }
  return s;
}

export interface MatrixOptions {
  owner: object;
  key: string;
  n: number;
  size: number;
  label: string;
  dataKey: string;
  tokenLabel(i: number): string;
  color(r: number, c: number): Rgb | undefined;
  tip(r: number, c: number): string;
  chosen?: number;
  /** Highlight the chosen column too (similarity is symmetric; attention is not). */
  chosenColumn?: boolean;
  onCell?(r: number, c: number): void;
  rowTitle?: string;
  colTitle?: string;
}

export function matrix(o: MatrixOptions): Surface {
  const th = theme();
  const probeCell = (o.size - 120) / o.n;
  const labels = probeCell >= 10;
  const labelW = labels ? 90 : 16;
  const top = labels ? 70 : 16;
  const cells = Math.max(40, Math.min(o.size - labelW, 1200));
  const cell = cells / o.n;
  const s = surface(labelW + cells + 4, top + cells + 4, o.label);
  s.canvas.dataset.key = o.dataKey;
  const { ctx } = s;
  ctx.fillStyle = css(th.bg);
  ctx.fillRect(labelW, top, cells, cells);
  drawCells(ctx, cellImage(o.owner, o.key, o.n, o.n, o.color), labelW, top, cells, cells);
  ctx.font = th.mono;
  ctx.textBaseline = 'middle';
  if (labels) {
    for (let i = 0; i < o.n; i++) {
      ctx.fillStyle = css(i === o.chosen ? th.fg : th.muted);
      ctx.textAlign = 'right';
      ctx.fillText(fitText(ctx, o.tokenLabel(i), labelW - 8), labelW - 5, top + i * cell + cell / 2);
      ctx.save();
      ctx.translate(labelW + i * cell + cell / 2, top - 5);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.fillText(fitText(ctx, o.tokenLabel(i), top - 10), 0, 0);
      ctx.restore();
    }
  } else {
    ctx.fillStyle = css(th.muted);
    ctx.font = th.font;
    ctx.textAlign = 'left';
    if (o.colTitle) ctx.fillText(`${o.colTitle} →`, labelW, 8);
    if (o.rowTitle) {
      ctx.save();
      ctx.translate(8, top);
      ctx.rotate(Math.PI / 2);
      ctx.fillText(`${o.rowTitle} →`, 0, 0);
      ctx.restore();
    }
  }
  if (o.chosen !== undefined) {
    ctx.strokeStyle = css(th.focus);
    ctx.lineWidth = Math.min(2, Math.max(1, cell / 3));
    ctx.strokeRect(labelW, top + o.chosen * cell, cells, cell);
    if (o.chosenColumn) ctx.strokeRect(labelW + o.chosen * cell, top, cell, cells);
  }
  const cellAt = (e: MouseEvent) => {
    const p = pointer(s.canvas, e);
    const r = Math.floor((p.y - top) / cell);
    const c = Math.floor((p.x - labelW) / cell);
    return { r, c, ok: r >= 0 && r < o.n && c >= 0 && c < o.n };
  };
  s.canvas.addEventListener('mousemove', (e) => {
    const h = cellAt(e);
    if (h.ok) showTip(o.tip(h.r, h.c), e.clientX, e.clientY);
    else hideTip();
  });
  s.canvas.addEventListener('mouseleave', hideTip);
  if (o.onCell) {
    s.canvas.classList.add('clickable');
    s.canvas.addEventListener('click', (e) => {
      const h = cellAt(e);
      if (h.ok) o.onCell!(h.r, h.c);
    });
  }
  return s;
}

const robustCache = new WeakMap<Float32Array, number>();

/**
 * The value below which fraction q of |values| lie: a colour scale that a few outlier dimensions
 * do not wash out. A histogram, not a sort: O(n) for a 1024 x 768 matrix.
 */
export function robustMax(values: Float32Array, q = 0.99): number {
  const hit = robustCache.get(values);
  if (hit !== undefined) return hit;
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]));
  let result = max || 1;
  if (max > 0) {
    const bins = new Uint32Array(1024);
    const k = (bins.length - 1) / max;
    for (let i = 0; i < values.length; i++) bins[Math.floor(Math.abs(values[i]) * k)]++;
    const want = q * values.length;
    let seen = 0;
    for (let b = 0; b < bins.length; b++) {
      seen += bins[b];
      if (seen >= want) {
        result = Math.max((b + 1) / k, 1e-6);
        break;
      }
    }
  }
  robustCache.set(values, result);
  return result;
}
