// Canvas helpers: crisp drawing at the screen's pixel ratio, cached heatmap images, one tooltip.
import { theme, type Rgb } from './theme';
import { el } from './dom';

export interface Surface {
  canvas: HTMLCanvasElement;
  ctx: CanvasRenderingContext2D;
  width: number;
  height: number;
}

/** A canvas sized in CSS pixels and backed at devicePixelRatio, so lines and text stay sharp. */
export function surface(width: number, height: number, label: string, focusable = true): Surface {
  const canvas = document.createElement('canvas');
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(width));
  const h = Math.max(1, Math.round(height));
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  if (focusable) canvas.tabIndex = 0;
  const ctx = canvas.getContext('2d')!;
  ctx.scale(dpr, dpr);
  return { canvas, ctx, width: w, height: h };
}

/** Redraws into an existing surface at a new size (keeps the element, so focus and listeners stay). */
export function clear(s: Surface): void {
  s.ctx.clearRect(0, 0, s.width, s.height);
}

const images = new WeakMap<object, { version: number; key: string; image: HTMLCanvasElement }>();

/**
 * A rows x cols image, one pixel per cell, cached per data object and theme. Drawn scaled, it
 * makes a 1024 x 1024 matrix one drawImage instead of a million fillRects.
 */
export function cellImage(owner: object, key: string, rows: number, cols: number, color: (r: number, c: number) => Rgb | undefined): HTMLCanvasElement {
  const th = theme();
  const hit = images.get(owner);
  if (hit && hit.version === th.version && hit.key === key) return hit.image;
  const image = document.createElement('canvas');
  image.width = Math.max(1, cols);
  image.height = Math.max(1, rows);
  const ctx = image.getContext('2d')!;
  const data = ctx.createImageData(image.width, image.height);
  // One 32-bit write per pixel; colours come from the scales' lookup tables, so most repeat.
  const px = new Uint32Array(data.data.buffer);
  const little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  const packed = new Map<Rgb, number>();
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const rgb = color(r, c);
      if (!rgb) continue;
      let v = packed.get(rgb);
      if (v === undefined) {
        const [R, G, B] = rgb.map((x) => Math.max(0, Math.min(255, Math.round(x))));
        v = little ? ((255 << 24) | (B << 16) | (G << 8) | R) >>> 0 : ((R << 24) | (G << 16) | (B << 8) | 255) >>> 0;
        packed.set(rgb, v);
      }
      px[r * cols + c] = v;
    }
  }
  ctx.putImageData(data, 0, 0);
  images.set(owner, { version: th.version, key, image });
  return image;
}

/** Draws a cell image into a rectangle: crisp when enlarged, averaged when shrunk. */
export function drawCells(ctx: CanvasRenderingContext2D, image: HTMLCanvasElement, x: number, y: number, w: number, h: number): void {
  const dpr = window.devicePixelRatio || 1;
  const shrinking = w * dpr < image.width || h * dpr < image.height;
  ctx.imageSmoothingEnabled = shrinking;
  if (shrinking) ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(image, x, y, w, h);
  ctx.imageSmoothingEnabled = true;
}

/** Text that never overflows its box: cut with an ellipsis by measuring. */
export function fitText(ctx: CanvasRenderingContext2D, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  const chars = Array.from(text);
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(`${chars.slice(0, mid).join('')}…`).width <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return `${chars.slice(0, lo).join('')}…`;
}

let tip: HTMLElement | undefined;

/** One floating tooltip for every chart; text only. */
export function showTip(text: string, clientX: number, clientY: number): void {
  if (!tip) {
    tip = el('div', { class: 'tip', role: 'tooltip' });
    document.body.append(tip);
  }
  tip.textContent = text;
  tip.hidden = false;
  const pad = 12;
  const r = tip.getBoundingClientRect();
  const x = Math.min(clientX + pad, window.innerWidth - r.width - 4);
  const y = clientY + pad + r.height > window.innerHeight ? clientY - pad - r.height : clientY + pad;
  tip.style.left = `${Math.max(4, x)}px`;
  tip.style.top = `${Math.max(4, y)}px`;
}

export function hideTip(): void {
  if (tip) tip.hidden = true;
}

/** Mouse position in the canvas's CSS pixels. */
export function pointer(canvas: HTMLCanvasElement, e: MouseEvent): { x: number; y: number } {
  const r = canvas.getBoundingClientRect();
  return { x: e.clientX - r.left, y: e.clientY - r.top };
}

/** A horizontal colour legend: a gradient from lo to hi with end labels. */
export function legend(label: string, loText: string, hiText: string, color: (t: number) => Rgb, width = 200): HTMLElement {
  const s = surface(width, 12, label, false);
  const steps = Math.ceil(width);
  for (let i = 0; i < steps; i++) {
    const c = color(i / (steps - 1));
    s.ctx.fillStyle = `rgb(${c.map(Math.round).join(',')})`;
    s.ctx.fillRect(i, 0, 1.5, 12);
  }
  s.ctx.strokeStyle = `rgb(${theme().border.map(Math.round).join(',')})`;
  s.ctx.strokeRect(0.5, 0.5, width - 1, 11);
  return el('div', { class: 'legend' }, el('span', { class: 'legend-label' }, label), el('span', {}, loText), s.canvas, el('span', {}, hiText));
}
