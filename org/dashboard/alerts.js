// Org page: the alerts' part (served as /assets/alerts.js under the page's nonce CSP; plain
// browser JavaScript). Lists the org's alert rules with their state (ok / pending / firing) and
// their history (firings, resolutions and each webhook delivery's outcome), with the read token
// the dashboard already holds. Rules are made with `code-insights org create-alert` or the API.
(function () {
  'use strict';
  var KEY = 'code-insights.org.readToken';
  var $ = function (id) { return document.getElementById(id); };
  var timer = 0;

  function readToken() { return sessionStorage.getItem(KEY) || localStorage.getItem(KEY); }

  function get(path, token) {
    return fetch(path, { headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' } }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (json) {
        if (!res.ok) throw new Error(json && json.error ? json.error.message : 'HTTP ' + res.status);
        return json;
      });
    });
  }

  function cell(text, cls) {
    var el = document.createElement('td');
    el.textContent = text;
    if (cls) el.className = cls;
    return el;
  }

  function day(iso) { return iso ? iso.slice(0, 10) : ''; }

  function condition(c) {
    if (c.kind === 'threshold') return [c.above !== null ? 'above ' + c.above : '', c.below !== null ? 'below ' + c.below : ''].filter(Boolean).join(' or ');
    if (c.kind === 'ratchet') return 'ratchet (' + c.baseline + ')';
    return 'target ' + c.target + ' by ' + c.by + ' (' + c.direction + ')';
  }

  function duration(s) {
    if (!s) return '—';
    if (s % 604800 === 0) return s / 604800 + ' w';
    if (s % 86400 === 0) return s / 86400 + ' d';
    if (s % 3600 === 0) return s / 3600 + ' h';
    return s + ' s';
  }

  function detail(e) {
    var d = e.detail || {};
    if (d.missedByWeeks === null && d.target !== undefined) return 'never reached at this rate';
    if (d.missedByWeeks) return 'target date missed by ' + d.missedByWeeks + ' week' + (d.missedByWeeks === 1 ? '' : 's');
    if (d.baseline !== undefined && d.baseline !== null) return 'baseline ' + d.baseline;
    if (e.status === 'firing' && d.above !== undefined && d.above !== null && e.value > d.above) return 'above ' + d.above;
    if (e.status === 'firing' && d.below !== undefined && d.below !== null && e.value < d.below) return 'below ' + d.below;
    return '';
  }

  function render(list, history) {
    var rules = $('alerts-rules');
    rules.replaceChildren();
    $('alerts-summary').textContent = list.rules.length === 0
      ? 'No alert rules: create one with code-insights org create-alert (see org/README.md, "Alerts").'
      : list.rules.length + ' rule' + (list.rules.length === 1 ? '' : 's') + ', ' + list.rules.filter(function (r) { return r.state === 'firing'; }).length + ' firing';
    list.rules.forEach(function (r) {
      var tr = document.createElement('tr');
      tr.id = 'alert-' + r.id;
      tr.append(
        cell(r.id),
        cell(r.label || r.series),
        cell(condition(r.condition)),
        cell(duration(r.pendingSeconds)),
        cell(r.state + (r.since ? ' since ' + day(r.since) : ''), r.state),
        cell(r.value === null ? '—' : r.value + ' (' + day(r.time) + ')'),
        cell(r.format + ' → ' + r.webhook),
      );
      rules.append(tr);
    });
    var events = $('alerts-history');
    events.replaceChildren();
    var byEvent = {};
    history.deliveries.forEach(function (d) { byEvent[d.event] = d; });
    history.events.forEach(function (e) {
      var d = byEvent[e.id];
      var tr = document.createElement('tr');
      tr.append(
        cell(e.at.slice(0, 16).replace('T', ' ')),
        cell(e.rule),
        cell(e.status, e.status),
        cell(e.value + ' (' + day(e.time) + ')'),
        cell(detail(e)),
        cell(d ? d.state + ', ' + d.attempts + ' attempt' + (d.attempts === 1 ? '' : 's') + (d.lastError ? ' (' + d.lastError + ')' : '') : '—', d && d.state === 'failed' ? 'bad' : ''),
      );
      events.append(tr);
    });
  }

  function refresh() {
    var token = readToken();
    if (!token || $('main').hidden) return;
    Promise.all([get('/api/v1/alerts', token), get('/api/v1/alerts/history', token)]).then(function (r) { render(r[0], r[1]); }, function (err) {
      $('alerts-summary').textContent = err.message;
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    if (!$('alerts')) return;
    new MutationObserver(refresh).observe($('main'), { attributes: true, attributeFilter: ['hidden'] });
    refresh();
    timer = setInterval(function () { if (!document.hidden) refresh(); }, 15000);
    window.addEventListener('pagehide', function () { clearInterval(timer); });
  });
})();
