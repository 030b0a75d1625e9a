// Chart colours from the VS Code theme's CSS variables (--vscode-charts-*), with fallbacks that
// read well on a plain page in light, dark and high-contrast. Read again on every theme change.
import type { ThemeKind } from '../protocol/webview';

export interface Palette {
  kind: ThemeKind;
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  focus: string;
  series: string[];
  /** Thicker lines and point markers in high-contrast themes. */
  lineWidth: number;
}

const FALLBACK: Record<'light' | 'dark', { fg: string; muted: string; grid: string; bg: string; focus: string; series: string[] }> = {
  light: {
    fg: '#1f1f1f', muted: '#616161', grid: 'rgba(0,0,0,0.12)', bg: '#ffffff', focus: '#005fb8',
    series: ['#1a73e8', '#c5221f', '#b06000', '#188038', '#8430ce', '#007b83', '#d01884', '#5f6368'],
  },
  dark: {
    fg: '#cccccc', muted: '#9d9d9d', grid: 'rgba(255,255,255,0.14)', bg: '#1f1f1f', focus: '#0078d4',
    series: ['#4daafc', '#f48771', '#cca700', '#89d185', '#b180d7', '#4ec9b0', '#f06fb4', '#bbbbbb'],
  },
};

const CHART_VARS = ['--vscode-charts-blue', '--vscode-charts-red', '--vscode-charts-yellow', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-orange'];

/** The theme kind from VS Code's body class, else the page's colour-scheme preference. */
export function detectThemeKind(doc: Document = document): ThemeKind {
  const c = doc.body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (c.contains('vscode-high-contrast')) return 'high-contrast';
  if (c.contains('vscode-dark')) return 'dark';
  if (c.contains('vscode-light')) return 'light';
  const attr = doc.documentElement.dataset.theme;
  if (attr === 'light' || attr === 'dark' || attr === 'high-contrast' || attr === 'high-contrast-light') return attr;
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** The palette as seen from `el` (the app's root: VS Code's variables and the page fallbacks both reach it). */
export function readPalette(kind: ThemeKind, el: Element = document.body): Palette {
  const css = getComputedStyle(el);
  const v = (name: string) => css.getPropertyValue(name).trim();
  const base = FALLBACK[kind === 'light' || kind === 'high-contrast-light' ? 'light' : 'dark'];
  const hc = kind === 'high-contrast' || kind === 'high-contrast-light';
  const themed = CHART_VARS.map(v).filter(Boolean);
  // The theme's chart colours first; our fallbacks extend them so many series stay distinct.
  const series = [...themed, ...base.series.filter((c) => !themed.includes(c))];
  return {
    kind,
    foreground: v('--vscode-charts-foreground') || v('--vscode-foreground') || base.fg,
    muted: v('--vscode-descriptionForeground') || base.muted,
    grid: v('--vscode-charts-lines') || (hc ? (kind === 'high-contrast' ? '#ffffff' : '#000000') : base.grid),
    background: v('--vscode-editor-background') || base.bg,
    focus: v('--vscode-focusBorder') || (hc ? (kind === 'high-contrast' ? '#f38518' : '#0f4a85') : base.focus),
    series,
    lineWidth: hc ? 3 : 2,
  };
}

/** A colour with alpha, for area fills (hex #rgb/#rrggbb; other syntaxes are returned as-is). */
export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color.trim());
  if (!m) return color;
  const h = m[1].length === 3 ? m[1].replace(/./g, (c) => c + c) : m[1];
  const n = parseInt(h, 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}
