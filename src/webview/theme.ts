// Colours and fonts read from VS Code's theme variables, and the colour scales the charts use.
// Re-read whenever VS Code switches theme (it changes the body's class and the variables).

export type Rgb = [number, number, number];

export interface Theme {
  fg: Rgb;
  muted: Rgb;
  bg: Rgb;
  border: Rgb;
  focus: Rgb;
  pos: Rgb;
  neg: Rgb;
  seq: Rgb;
  change: Rgb;
  hot: Rgb;
  palette: Rgb[];
  font: string;
  mono: string;
  highContrast: boolean;
  version: number;
}

let probe: CanvasRenderingContext2D | undefined;

/** Any CSS colour -> RGB, by painting one pixel (handles #rgb, #rrggbbaa, rgb(), names). */
export function parseColor(css: string, fallback: Rgb): Rgb {
  if (!css.trim()) return fallback;
  probe ??= document.createElement('canvas').getContext('2d', { willReadFrequently: true }) ?? undefined;
  if (!probe) return fallback;
  probe.clearRect(0, 0, 1, 1);
  probe.fillStyle = '#000';
  probe.fillStyle = css;
  probe.fillRect(0, 0, 1, 1);
  const [r, g, b, a] = probe.getImageData(0, 0, 1, 1).data;
  if (a === 0) return fallback;
  // Translucent theme colours are shown over the background by VS Code; approximate that.
  const k = a / 255;
  return [Math.round(r / k), Math.round(g / k), Math.round(b / k)].map((x) => Math.min(255, x)) as Rgb;
}

let current: Theme | undefined;
let version = 0;

export function theme(): Theme {
  if (current) return current;
  const cs = getComputedStyle(document.body);
  const v = (name: string) => cs.getPropertyValue(name);
  const dark = document.body.classList.contains('vscode-dark') || document.body.classList.contains('vscode-high-contrast');
  const bg = parseColor(v('--vscode-editor-background'), dark ? [30, 30, 30] : [255, 255, 255]);
  const fg = parseColor(v('--vscode-foreground'), dark ? [204, 204, 204] : [51, 51, 51]);
  const color = (name: string, fb: Rgb) => parseColor(v(name), fb);
  const size = v('--vscode-editor-font-size').trim() || '13px';
  current = {
    fg,
    bg,
    muted: color('--vscode-descriptionForeground', mix(bg, fg, 0.7)),
    border: color('--vscode-panel-border', mix(bg, fg, 0.25)),
    focus: color('--vscode-focusBorder', [0, 120, 212]),
    pos: color('--vscode-charts-red', [229, 83, 75]),
    neg: color('--vscode-charts-blue', [55, 148, 255]),
    seq: color('--vscode-charts-blue', [55, 148, 255]),
    change: color('--vscode-charts-orange', [209, 134, 22]),
    hot: color('--vscode-charts-red', [229, 83, 75]),
    palette: [
      color('--vscode-charts-blue', [55, 148, 255]),
      color('--vscode-charts-orange', [209, 134, 22]),
      color('--vscode-charts-green', [56, 138, 52]),
      color('--vscode-charts-purple', [101, 43, 231]),
      color('--vscode-charts-red', [229, 83, 75]),
      color('--vscode-charts-yellow', [204, 167, 0]),
    ],
    font: `${v('--vscode-font-size').trim() || '13px'} ${v('--vscode-font-family').trim() || 'sans-serif'}`,
    mono: `${size} ${v('--vscode-editor-font-family').trim() || 'monospace'}`,
    highContrast: document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light'),
    version: ++version,
  };
  return current;
}

/** Calls back (once per frame) when VS Code changes the theme. */
export function onThemeChange(cb: () => void): void {
  let queued = false;
  new MutationObserver(() => {
    current = undefined;
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      cb();
    });
  }).observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-id'] });
}

export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

export function css(c: Rgb, alpha = 1): string {
  return alpha >= 1 ? `rgb(${c.map(Math.round).join(',')})` : `rgba(${c.map(Math.round).join(',')},${alpha})`;
}

const LUT_SIZE = 256;
let lutVersion = -1;
let divergingLut: Rgb[] = [];
const sequentialLuts = new Map<Rgb, Rgb[]>();

function luts(th: Theme): void {
  if (lutVersion === th.version) return;
  lutVersion = th.version;
  sequentialLuts.clear();
  divergingLut = Array.from({ length: 2 * LUT_SIZE + 1 }, (_, i) => {
    const t = (i - LUT_SIZE) / LUT_SIZE;
    return t < 0 ? mix(th.bg, th.neg, -t) : mix(th.bg, th.pos, t);
  });
}

/**
 * Diverging scale centred on zero: negative -> neg colour, 0 -> background, positive -> pos colour.
 * Looked up in a table (values are byte-quantized anyway): a 1024 x 1024 matrix allocates nothing.
 */
export function diverging(th: Theme, x: number): Rgb {
  luts(th);
  const t = Math.max(-1, Math.min(1, x || 0));
  return divergingLut[Math.round(t * LUT_SIZE) + LUT_SIZE];
}

/** Sequential scale from the background to a colour (one of the theme's). */
export function sequential(th: Theme, to: Rgb, x: number): Rgb {
  luts(th);
  let lut = sequentialLuts.get(to);
  if (!lut) {
    lut = Array.from({ length: LUT_SIZE + 1 }, (_, i) => mix(th.bg, to, i / LUT_SIZE));
    sequentialLuts.set(to, lut);
  }
  return lut[Math.round(Math.max(0, Math.min(1, x || 0)) * LUT_SIZE)];
}

function luminance(c: Rgb): number {
  const f = (x: number) => {
    const v = x / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
}

/** WCAG contrast ratio of two colours. */
export function contrast(a: Rgb, b: Rgb): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** Text colour for a cell: black or white, whichever reads better on it. */
export function textOn(cell: Rgb): Rgb {
  return contrast(cell, [0, 0, 0]) >= contrast(cell, [255, 255, 255]) ? [0, 0, 0] : [255, 255, 255];
}
