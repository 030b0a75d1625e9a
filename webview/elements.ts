// The one place that knows about @vscode-elements/elements: the rest of the app asks for a
// button, a text field, a select or a progress bar here. Swapping the control library touches
// this file only. Only the components used are imported (each registers its custom element).
// They style themselves through adoptedStyleSheets, which a strict CSP allows, and follow the
// VS Code theme's CSS variables (with their own defaults on a plain page).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';

export interface ButtonOptions {
  secondary?: boolean;
  /** Accessible name when the visible label is short or symbolic. */
  ariaLabel?: string;
  title?: string;
  disabled?: boolean;
}

export function button(label: string, onClick: (e: Event) => void, opts: ButtonOptions = {}): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  if (opts.secondary) b.setAttribute('secondary', '');
  if (opts.ariaLabel) b.setAttribute('aria-label', opts.ariaLabel);
  if (opts.title) b.title = opts.title;
  if (opts.disabled) b.setAttribute('disabled', '');
  b.addEventListener('click', (e) => {
    if (!b.hasAttribute('disabled')) onClick(e);
  });
  return b;
}

export interface TextField extends HTMLElement {
  value: string;
  invalid: boolean;
}

export function textField(label: string, value: string, placeholder: string, onChange: (value: string) => void): TextField {
  const f = document.createElement('vscode-textfield') as unknown as TextField;
  f.setAttribute('aria-label', label);
  f.setAttribute('placeholder', placeholder);
  f.value = value;
  f.addEventListener('input', () => onChange(f.value));
  return f;
}

export interface Select extends HTMLElement {
  value: string;
}

export function select(label: string, options: { value: string; label: string }[], value: string, onChange: (value: string) => void): Select {
  const s = document.createElement('vscode-single-select') as unknown as Select;
  s.setAttribute('aria-label', label);
  for (const o of options) {
    const opt = document.createElement('vscode-option') as HTMLElement & { value?: string; selected: boolean };
    opt.value = o.value;
    opt.textContent = o.label;
    if (o.value === value) opt.selected = true;
    s.appendChild(opt);
  }
  s.addEventListener('change', () => onChange(s.value));
  return s;
}

/** An indeterminate progress bar (for computing cards). */
export function progressBar(label: string): HTMLElement {
  const p = document.createElement('vscode-progress-bar');
  p.setAttribute('aria-label', label);
  p.setAttribute('indeterminate', '');
  return p;
}

export function badge(text: string, variant: 'default' | 'counter' | 'activity-bar-counter' | 'tab-header-counter' = 'default'): HTMLElement {
  const b = document.createElement('vscode-badge');
  b.textContent = text;
  if (variant !== 'default') b.setAttribute('variant', variant);
  return b;
}
