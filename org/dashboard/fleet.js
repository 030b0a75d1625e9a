// Org page: the fleet's part (served as /assets/fleet.js under the page's nonce CSP; plain browser
// JavaScript). Shows each org-defined insight's backfill (done / queued / running / failed, the
// errors, the ETA) with the read token the dashboard already holds, and a form that creates an
// insight from fields (a team lead does not edit JSON), edits or deletes one, or retries failed
// repositories, with an admin token typed for that action only (never stored).
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
        actions(i),
      );
      body.append(tr);
      i.failures.forEach(function (f) {
        var er = document.createElement('tr');
        er.className = 'failure';
        var td = cell('td', f.repo + ': ' + f.error);
        td.colSpan = 8;
        er.append(td);
        body.append(er);
      });
    });
  }

  var editing = null; // the insight the form was filled from (its scope is kept unless changed)

  function actions(i) {
    var td = document.createElement('td');
    var edit = cell('button', 'Edit', 'fleet-edit');
    edit.type = 'button';
    edit.addEventListener('click', function () { fill(i); });
    var del = cell('button', 'Delete', 'fleet-delete');
    del.type = 'button';
    del.addEventListener('click', function () { remove(i); });
    td.append(edit, ' ', del);
    return td;
  }

  // Fills the form from a stored definition: "Save changes" then replaces it.
  function fill(i) {
    var d = i.definition || {};
    editing = i;
    $('fleet-title').value = d.title || '';
    $('fleet-id').value = i.name;
    $('fleet-queries').value = (d.queries || []).map(function (q) { return typeof q === 'string' ? q : q.query; }).join('\n');
    $('fleet-literal').checked = Boolean(d.literal);
    if (d.step) $('fleet-step').value = d.step;
    if (d.points) $('fleet-points').value = String(d.points);
    $('fleet-scope').value = i.scope.kind === 'regex' ? i.scope.regex : '';
    $('fleet-update').hidden = false;
    say('Editing ' + i.name + (i.scope.kind === 'list' ? ' (its list of ' + i.scope.repos.length + ' repositories is kept unless you type a pattern)' : '') + ': change the fields, then Save changes.');
    $('fleet-title').focus();
  }

  function update() {
    var f = fromForm();
    if (!f) return;
    var body = { config: f.config };
    // A list scope (set from the CLI or the API) is kept when no pattern is typed.
    if (f.regex || !(editing && editing.name === f.id && editing.scope.kind === 'list')) body.scope = f.scope;
    say('Saving…');
    call('PUT', '/api/v1/fleet/insights', $('fleet-token').value.trim(), body).then(function (r) {
      say('Updated ' + r.insights.map(function (i) { return i.name; }).join(', ') + ': ' + r.queued + ' repositories queued.');
      $('fleet-token').value = '';
      refresh();
    }, function (err) { say(err.message, true); });
  }

  function remove(i) {
    if (!window.confirm('Delete the org insight "' + i.title + '" (' + i.name + ')? Points already computed stay.')) return;
    say('Deleting…');
    call('DELETE', '/api/v1/fleet/insights/' + encodeURIComponent(i.name), $('fleet-token').value.trim()).then(function () {
      say('Deleted ' + i.name + '.');
      $('fleet-token').value = '';
      if (editing && editing.name === i.name) { editing = null; $('fleet-update').hidden = true; }
      refresh();
    }, function (err) { say(err.message, true); });
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

  function fromForm() {
    if (!$('fleet-form').reportValidity()) return null;
    var queries = $('fleet-queries').value.split('\n').map(function (q) { return q.trim(); }).filter(Boolean);
    var insight = { id: $('fleet-id').value.trim(), title: $('fleet-title').value.trim(), queries: queries.map(function (q) { return { query: q }; }), step: $('fleet-step').value, points: Number($('fleet-points').value) };
    if ($('fleet-literal').checked) insight.literal = true;
    var regex = $('fleet-scope').value.trim();
    return { id: insight.id, regex: regex, config: JSON.stringify({ insights: [insight] }), scope: regex ? { kind: 'regex', regex: regex } : { kind: 'all' } };
  }

  function create(ev) {
    ev.preventDefault();
    var f = fromForm();
    if (!f) return;
    var body = { config: f.config, scope: f.scope };
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
    $('fleet-update').addEventListener('click', update);
    // The dashboard shows #main once a read token works; follow it, then poll while the tab shows.
    new MutationObserver(refresh).observe($('main'), { attributes: true, attributeFilter: ['hidden'] });
    refresh();
    timer = setInterval(function () { if (!document.hidden) refresh(); }, 5000);
    window.addEventListener('pagehide', function () { clearInterval(timer); });
  });
})();
