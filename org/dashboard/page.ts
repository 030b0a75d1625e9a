// The org dashboard page: one HTML document with a strict Content-Security-Policy (a fresh nonce
// per response, no inline handlers, no inline styles), its script and stylesheet, and Chart.js.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dashboardDir, packageRoot } from '../paths';

export interface Asset {
  type: string;
  body: Buffer;
}

/** Static files of the page, read once at start. */
export function dashboardAssets(): Map<string, Asset> {
  const dir = dashboardDir();
  const assets = new Map<string, Asset>([
    ['dashboard.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(dir, 'dashboard.js')) }],
    ['dashboard.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(dir, 'dashboard.css')) }],
    ['fleet.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(dir, 'fleet.js')) }],
    ['alerts.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(dir, 'alerts.js')) }],
  ]);
  const chart = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
  assets.set('chart.umd.min.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(chart) });
  // The shared chart bundle of webview/ (built to dist/webview.js), when it has been built.
  const bundle = join(packageRoot(), 'dist', 'webview.js');
  if (existsSync(bundle)) assets.set('webview.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(bundle) });
  return assets;
}

/** The org-defined insights: backfill status, a form to create or edit one, delete (org/dashboard/fleet.js). */
const FLEET_SECTION = `<section id="fleet" class="fleet">
    <h2>Computed by the org</h2>
    <p id="fleet-summary"></p>
    <table><thead><tr><th>Insight</th><th>Done</th><th>Queued</th><th>Running</th><th>Failed</th><th>Backfill started</th><th>ETA</th><th></th></tr></thead>
    <tbody id="fleet-rows"></tbody></table>
    <form id="fleet-form">
      <h3>New org insight (or Edit one above)</h3>
      <label>Title <input id="fleet-title" type="text" required></label>
      <label>Id <input id="fleet-id" type="text" required placeholder="old-logger"></label>
      <label>Queries, one a line <textarea id="fleet-queries" rows="3" required spellcheck="false"></textarea></label>
      <label class="check"><input id="fleet-literal" type="checkbox"> Literal text (not regular expressions)</label>
      <label>Step <select id="fleet-step"><option>week</option><option>day</option><option>month</option><option>quarter</option><option>year</option></select></label>
      <label>Points <input id="fleet-points" type="number" min="1" max="10000" value="52"></label>
      <label>Repositories matching (empty: all) <input id="fleet-scope" type="text" spellcheck="false" placeholder="^github\\.com/acme/"></label>
      <label>Admin token (used for this action only, not kept) <input id="fleet-token" type="password" autocomplete="off" required></label>
      <div><button type="submit">Create and compute</button> <button id="fleet-update" type="button" hidden>Save changes</button> <button id="fleet-retry" type="button">Retry failed repositories</button></div>
      <p id="fleet-message" role="status"></p>
    </form>
  </section>`;

/** The org's alert rules, their state and history (org/dashboard/alerts.js). */
const ALERTS_SECTION = `<section id="alerts" class="fleet alerts">
    <h2>Alerts</h2>
    <p id="alerts-summary"></p>
    <table><thead><tr><th>Rule</th><th>Series</th><th>Condition</th><th>Pending</th><th>State</th><th>Value</th><th>Webhook</th></tr></thead>
    <tbody id="alerts-rules"></tbody></table>
    <h3>History</h3>
    <table><thead><tr><th>At</th><th>Rule</th><th>Event</th><th>Value</th><th>Why</th><th>Delivery</th></tr></thead>
    <tbody id="alerts-history"></tbody></table>
  </section>`;

/** `bundle`: host the shared webview bundle (dist/webview.js) through its page message channel;
 *  otherwise the page draws with Chart.js itself (when the bundle has not been built). */
export function dashboardHtml(bundle: boolean): { html: string; csp: string } {
  const nonce = randomBytes(18).toString('base64');
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Code Insights — org dashboard</title>
<link rel="stylesheet" href="/assets/dashboard.css" nonce="${nonce}">
</head>
<body>
<header>
  <h1>Code Insights</h1>
  <span id="org" class="org"></span>
  <button id="signout" type="button" hidden>Sign out</button>
</header>
<section id="login" class="panel" hidden>
  <h2>Connect</h2>
  <p>Enter a <strong>read</strong> token of your org (created with <code>code-insights org create-token --org NAME --scope read</code>).</p>
  <form id="login-form">
    <label for="token">Read token</label>
    <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" placeholder="cit_…" required>
    <label class="check"><input id="remember" type="checkbox"> Remember on this device</label>
    <button type="submit">Connect</button>
  </form>
</section>
<section id="main" hidden>
  <form id="filter-form" class="page-toolbar">
    ${bundle ? '' : `<label for="repo">Repositories matching</label>
    <input id="repo" name="repo" type="text" spellcheck="false" placeholder="regular expression, e.g. ^github\\.com/acme/">
    <button type="submit">Apply</button>
    <button id="clear-filter" type="button">All repositories</button>`}
    <button id="export" type="button">Export CSV (all insights)</button>
  </form>
  ${bundle ? '<main id="code-insights-dashboard"></main>' : '<div id="insights" class="grid"></div>'}
  ${FLEET_SECTION}
  ${ALERTS_SECTION}
</section>
<p id="status" role="status" aria-live="polite"></p>
${bundle ? `<script nonce="${nonce}" src="/assets/webview.js"></script>` : `<script nonce="${nonce}" src="/assets/chart.umd.min.js"></script>`}
<script nonce="${nonce}" src="/assets/dashboard.js"></script>
<script nonce="${nonce}" src="/assets/fleet.js"></script>
<script nonce="${nonce}" src="/assets/alerts.js"></script>
</body>
</html>
`;
  return { html, csp };
}
