// Entry of the dashboard bundle (dist/webview.js): styles through a constructed stylesheet
// (allowed by a strict CSP, unlike an injected <style>), the host's message channel, the app.
import css from './styles.css';
import { DashboardApp } from './app';
import { detectChannel } from './hostChannel';

function start(): void {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  const root = document.getElementById('code-insights-dashboard') ?? document.body.appendChild(document.createElement('main'));
  const app = new DashboardApp(root, detectChannel());
  // Read-only view of the charts' data, for tests and for anyone debugging a dashboard.
  (window as unknown as { codeInsightsDashboard: { inspect(): unknown } }).codeInsightsDashboard = { inspect: () => app.inspect() };
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true });
else start();
