// Org page: the fleet's part (served as /assets/fleet.js under the page's nonce CSP; plain browser
// JavaScript). Shows each org-defined insight's backfill (done / queued / running / failed, the
// errors, the ETA) with the read token the dashboard already holds, and a form that creates an
// insight from fields (a team lead does not edit JSON) or retries failed repositories with a write
// token typed for that action only (never stored).
(function () {
  'use strict';
  var KEY = 'code-insights.org.readToken';
  var $ = function (id) { return document.getElementById(id); };
  var timer = 0;

  function readToken() { return sessionStorage.getItem(KEY) || localStorage.getItem(KEY); }

  function call(method, path, token, body) {
    return fetch(path, {
      method: method,
      headers: Object.assign({ Authorization: 'Bearer ' + token, Accept: 'application/json' }, body ? { 'Content-Type': 'application/json' } : {}),
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (json) {
        if (!res.ok) {
          var msg = json && json.error ? json.error.message : 'HTTP ' + res.status;
          if (json && json.problems) msg = json.problems.filter(function (p) { return p.severity === 'error'; }).map(function (p) { return p.message; }).join('\n');
          throw new Error(msg);
        }
        return json;
      });
    });
  }

  function cell(tag, text, cls) {
    var el = document.createElement(tag);
    el.textContent = text;
    if (cls) el.className = cls;
    return el;
  }

  function eta(s) {
    if (s === null || s === undefined) return '';
    return s < 120 ? s + ' s' : Math.round(s / 60) + ' min';
  }

  function render(status) {
    var body = $('fleet-rows');
    body.replaceChildren();
    $('fleet-summary').textContent = status.repos + ' repositories; ' + status.insights.length + ' org-defined insight' + (status.insights.length === 1 ? '' : 's');
    status.insights.forEach(function (i) {
      var tr = document.createElement('tr');
      tr.dataset.insight = i.name;
      var complete = i.done === i.total;
      tr.append(
        cell('td', i.title + ' (' + i.name + ')'),
        cell('td', i.done + ' / ' + i.total, complete ? 'ok' : 'partial'),
        cell('td', String(i.queued + i.pending)),
        cell('td', String(i.running)),
        cell('td', String(i.failed), i.failed ? 'bad' : ''),
        cell('td', i.backfillStartedAt.slice(0, 16).replace('T', ' ')),
        cell('td', complete ? 'complete' : eta(i.etaSeconds) || '—'),
      );
      body.append(tr);
      i.failures.forEach(function (f) {
        var er = document.createElement('tr');
        er.className = 'failure';
        var td = cell('td', f.repo + ': ' + f.error);
        td.colSpan = 7;
        er.append(td);
        body.append(er);
      });
    });
  }

  function refresh() {
    var token = readToken();
    if (!token || $('main').hidden) return;
    call('GET', '/api/v1/fleet/status', token).then(function (status) {
      render(status);
      // The charts (dashboard.js) mark the series of an insight whose backfill is not complete.
      window.dispatchEvent(new CustomEvent('code-insights:fleet-status', { detail: status }));
    }, function (err) {
      $('fleet-summary').textContent = err.message;
    });
  }

  function say(text, bad) {
    var el = $('fleet-message');
    el.textContent = text;
    el.className = bad ? 'error' : '';
  }

  function create(ev) {
    ev.preventDefault();
    var queries = $('fleet-queries').value.split('\n').map(function (q) { return q.trim(); }).filter(Boolean);
    var insight = { id: $('fleet-id').value.trim(), title: $('fleet-title').value.trim(), queries: queries.map(function (q) { return { query: q }; }), step: $('fleet-step').value, points: Number($('fleet-points').value) };
    if ($('fleet-literal').checked) insight.literal = true;
    var regex = $('fleet-scope').value.trim();
    var body = { config: JSON.stringify({ insights: [insight] }), scope: regex ? { kind: 'regex', regex: regex } : { kind: 'all' } };
    say('Creating…');
    call('POST', '/api/v1/fleet/insights', $('fleet-token').value.trim(), body).then(function (r) {
      say('Created ' + r.insights.map(function (i) { return i.name; }).join(', ') + ': ' + r.queued + ' repositories queued.');
      $('fleet-token').value = '';
      refresh();
    }, function (err) { say(err.message, true); });
  }

  function retry() {
    call('POST', '/api/v1/fleet/retry-failed', $('fleet-token').value.trim(), {}).then(function (r) {
      say(r.requeued + ' failed repositories queued again.');
      $('fleet-token').value = '';
      refresh();
    }, function (err) { say(err.message, true); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    if (!$('fleet')) return;
    $('fleet-form').addEventListener('submit', create);
    $('fleet-retry').addEventListener('click', retry);
    // The dashboard shows #main once a read token works; follow it, then poll while the tab shows.
    new MutationObserver(refresh).observe($('main'), { attributes: true, attributeFilter: ['hidden'] });
    refresh();
    timer = setInterval(function () { if (!document.hidden) refresh(); }, 5000);
    window.addEventListener('pagehide', function () { clearInterval(timer); });
  });
})();
