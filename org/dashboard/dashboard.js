// Org dashboard page script (served as /assets/dashboard.js under a nonce CSP; plain browser
// JavaScript, no build step). Data flows one way: fetch from /api/v1 -> view.update(model).
// Two views draw the model: the shared webview bundle (dist/webview.js, when built), fed through
// its page message channel (protocol/webview.ts: envelopes on window.postMessage), or a plain
// Chart.js view when the page was served without the bundle.
(function () {
  'use strict';

  // The read token lives in sessionStorage (gone when the tab closes) unless the person ticks
  // "Remember on this device" (then localStorage). Either is readable by script on this origin;
  // the strict CSP (nonce scripts only, no inline handlers) is what keeps foreign script out.
  var KEY = 'code-insights.org.readToken';
  var $ = function (id) { return document.getElementById(id); };
  var state = { token: null, org: '', series: [], data: new Map(), repo: '', exclude: '', loadSeq: 0, fleet: new Map(), fleetKey: '' };

  function storedToken() {
    return sessionStorage.getItem(KEY) || localStorage.getItem(KEY);
  }
  function storeToken(token, remember) {
    sessionStorage.setItem(KEY, token);
    if (remember) localStorage.setItem(KEY, token); else localStorage.removeItem(KEY);
  }
  function forgetToken() {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
  }

  function status(text, isError) {
    var el = $('status');
    el.textContent = text || '';
    el.className = isError ? 'error' : '';
  }

  function api(path) {
    return fetch(path, { headers: { Authorization: 'Bearer ' + state.token, Accept: 'application/json' } }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (body) {
        if (!res.ok) {
          var msg = body && body.error ? body.error.message : 'HTTP ' + res.status;
          var err = new Error(msg);
          err.status = res.status;
          throw err;
        }
        return body;
      });
    });
  }

  // ---- views: draw a model { org, repo, exclude, series: [{ id, label, query, points: [{time, value, repos}], incomplete? }] }

  // A series an org-defined insight computes while its backfill runs: `incomplete` is
  // { done, total, failed, failures: [{repo, error}] } (from /api/v1/fleet/status).
  function incompleteText(inc) {
    return 'Incomplete: ' + inc.done + ' of ' + inc.total + ' repositories' +
      (inc.failed ? '; ' + inc.failed + ' failed' : '') + (inc.total - inc.done - inc.failed > 0 ? '; ' + (inc.total - inc.done - inc.failed) + ' still computing' : '') + '.';
  }
  function incompleteNote(inc) {
    var note = document.createElement('div');
    note.className = 'incomplete';
    note.setAttribute('role', 'note');
    note.append(document.createTextNode(incompleteText(inc)));
    if (inc.failures.length) {
      var ul = document.createElement('ul');
      inc.failures.forEach(function (f) {
        var li = document.createElement('li');
        li.textContent = f.repo + ' — failed: ' + f.error;
        ul.append(li);
      });
      note.append(ul);
    }
    return note;
  }
  var chartView = (function () {
    var charts = [];
    function fmtDate(iso) { return iso.slice(0, 10); }
    function update(model) {
      charts.forEach(function (c) { c.destroy(); });
      charts = [];
      var root = $('insights');
      root.replaceChildren();
      model.series.forEach(function (s) {
        var card = document.createElement('article');
        card.className = 'card';
        card.dataset.series = s.id;
        var h = document.createElement('h3');
        h.textContent = s.label;
        var meta = document.createElement('div');
        meta.className = 'meta';
        meta.textContent = s.query + (model.repo ? '  ·  repositories matching ' + model.repo : '');
        var latest = document.createElement('div');
        latest.className = 'latest';
        var last = s.points[s.points.length - 1];
        latest.textContent = last ? last.value.toLocaleString('en-US') + (s.unit ? ' ' + s.unit : '') + ' · ' + last.repos + ' repos' : '—';
        card.append(h, meta, latest);
        if (s.incomplete) card.append(incompleteNote(s.incomplete));
        if (s.points.length === 0) {
          var empty = document.createElement('div');
          empty.className = 'empty';
          empty.textContent = model.repo ? 'No repository matches this filter.' : 'No points yet.';
          card.append(empty);
        } else {
          var box = document.createElement('div');
          box.className = 'chart';
          var canvas = document.createElement('canvas');
          canvas.setAttribute('role', 'img');
          canvas.setAttribute('aria-label', s.label + ' over time');
          box.append(canvas);
          card.append(box);
          if (window.Chart) {
            charts.push(new window.Chart(canvas, {
              type: 'line',
              data: {
                labels: s.points.map(function (p) { return fmtDate(p.time); }),
                datasets: [{ label: s.label, data: s.points.map(function (p) { return p.value; }), tension: 0.2, pointRadius: 2, borderWidth: 2 }],
              },
              // An external series' unit names the axis (coverage in %, build time in s).
              options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: s.unit ? { beginAtZero: true, title: { display: true, text: s.unit } } : { beginAtZero: true } } },
            }));
          }
        }
        root.append(card);
      });
    }
    return { update: update };
  })();

  // The shared dashboard app (webview/), hosted through its page channel. The org holds sums,
  // not every repository's points, so it declares filterBy 'host': the app sends `filter` and
  // this page answers with cards re-summed by the service.
  var CHANNEL = 'code-insights/dashboard';
  var bundleView = (function () {
    var ready = false;
    var pending = null;
    function post(message) {
      window.postMessage({ channel: CHANNEL, direction: 'toView', message: message }, window.location.origin);
    }
    function theme() {
      return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
    }
    function toMessage(model) {
      var cards = model.series.map(function (s) {
        var card = {
          key: s.id,
          title: s.label,
          kind: s.kind === 'external' ? 'external' : 'series',
          state: s.incomplete ? 'partial' : 'done',
          series: [{ id: s.id, label: s.label, query: s.query, points: s.points.map(function (p) { return { time: p.time, value: p.value, repos: [] }; }) }],
          missing: s.incomplete ? s.incomplete.failures.map(function (f) { return { repo: f.repo, status: 'error', reason: 'failed: ' + f.error }; }) : [],
        };
        if (s.incomplete) card.progress = { reposDone: s.incomplete.done, reposTotal: s.incomplete.total };
        if (s.unit !== undefined) card.unit = s.unit;
        if (s.decimals !== undefined) card.decimals = s.decimals;
        return card;
      });
      return {
        type: 'dashboard',
        layout: { dashboards: [{ id: 'org', title: model.org || 'org' }], active: 'org', order: cards.map(function (c) { return c.key; }) },
        cards: cards,
        theme: theme(),
        capabilities: { drillDown: false, openFile: false, reorder: false, saveExport: false, filterBy: 'host' },
        filter: { include: model.repo, exclude: model.exclude },
      };
    }
    window.addEventListener('message', function (e) {
      if (e.origin !== window.location.origin || e.source !== window) return;
      var d = e.data;
      if (!d || typeof d !== 'object' || d.channel !== CHANNEL || d.direction !== 'toHost' || !d.message) return;
      var m = d.message;
      if (m.type === 'ready') {
        ready = true;
        if (pending) post(pending);
        pending = null;
      } else if (m.type === 'filter' && m.filter && typeof m.filter.include === 'string' && typeof m.filter.exclude === 'string') {
        setFilter(m.filter.include.trim(), m.filter.exclude.trim());
      } else if (m.type === 'refresh') {
        reload();
      }
    });
    return {
      update: function (model) {
        var msg = toMessage(model);
        if (ready) post(msg); else pending = msg;
      },
    };
  })();

  var view = document.getElementById('code-insights-dashboard') ? bundleView : chartView;

  function model() {
    return {
      org: state.org,
      repo: state.repo,
      exclude: state.exclude,
      series: state.series.map(function (s) {
        var d = state.data.get(s.id);
        return { id: s.id, label: s.label, query: s.query, kind: s.kind, unit: s.unit, decimals: s.decimals, points: d ? d.points : [], incomplete: state.fleet.get(s.id) };
      }),
    };
  }

  // The fleet section (fleet.js) polls the backfill status: the series of an insight whose
  // repositories are not all computed are marked, and any progress reloads the charts (new points
  // arrived; the mark goes when the backfill completes).
  window.addEventListener('code-insights:fleet-status', function (e) {
    var status = e.detail;
    if (!status || !Array.isArray(status.insights)) return;
    var fleet = new Map();
    status.insights.forEach(function (i) {
      if (i.done === i.total) return;
      var inc = { done: i.done, total: i.total, failed: i.failed, failures: i.failures };
      (i.series || []).forEach(function (id) { if (!fleet.has(id)) fleet.set(id, inc); });
    });
    var key = status.insights.map(function (i) { return i.name + ':' + i.done + '/' + i.failed + '/' + i.total; }).join(',');
    if (key === state.fleetKey) return;
    var first = state.fleetKey === '';
    state.fleetKey = key;
    state.fleet = fleet;
    if (!state.token) return;
    // The first status only marks the charts already loaded; a later change brought new points.
    if (first) {
      if (state.series.length) view.update(model());
    } else {
      reload();
    }
  });

  function filterText() {
    var parts = [];
    if (state.repo) parts.push('repositories matching ' + state.repo);
    if (state.exclude) parts.push('excluding ' + state.exclude);
    return parts.length ? parts.join(', ') : 'all repositories';
  }

  // Only the newest load draws: answers to an older filter are dropped.
  function load() {
    var seq = ++state.loadSeq;
    status('Loading…');
    return api('/api/v1/series').then(function (list) {
      var q = [];
      if (state.repo) q.push('repo=' + encodeURIComponent(state.repo));
      if (state.exclude) q.push('exclude=' + encodeURIComponent(state.exclude));
      var qs = q.length ? '?' + q.join('&') : '';
      var data = new Map();
      return Promise.all(list.series.map(function (s) {
        return api('/api/v1/series/' + s.id + qs).then(function (d) { data.set(s.id, d); });
      })).then(function () { return { list: list, data: data }; });
    }).then(function (r) {
      if (seq !== state.loadSeq) return;
      state.org = r.list.org;
      state.series = r.list.series;
      state.data = r.data;
      $('org').textContent = 'org: ' + r.list.org;
      view.update(model());
      var n = state.series.length;
      status(n === 0 ? 'This org has no insights yet: push some with `code-insights push`.' : n + (n === 1 ? ' insight, ' : ' insights, ') + filterText());
    });
  }

  function reload() {
    load().catch(function (err) { status(err.message, true); });
  }

  var filterTimer = 0;
  function setFilter(include, exclude) {
    state.repo = include;
    state.exclude = exclude;
    clearTimeout(filterTimer);
    filterTimer = setTimeout(reload, 300); // the app sends one filter per keystroke
  }

  function showLogin(message) {
    $('login').hidden = false;
    $('main').hidden = true;
    $('signout').hidden = true;
    status(message || '', Boolean(message));
  }

  function start() {
    $('login').hidden = true;
    $('main').hidden = false;
    $('signout').hidden = false;
    load().catch(function (err) {
      if (err.status === 401 || err.status === 403) {
        forgetToken();
        state.token = null;
        showLogin(err.message);
      } else {
        status(err.message, true);
      }
    });
  }

  function csvField(v) {
    var s = String(v);
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function exportCsv() {
    var rows = [['series_id', 'label', 'query', 'repo_include', 'repo_exclude', 'time', 'value', 'repos']];
    model().series.forEach(function (s) {
      s.points.forEach(function (p) { rows.push([s.id, s.label, s.query, state.repo, state.exclude, p.time, p.value, p.repos]); });
    });
    var csv = rows.map(function (r) { return r.map(csvField).join(','); }).join('\r\n') + '\r\n';
    var a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
    a.download = 'code-insights-' + (state.org || 'org') + '.csv';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('login-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var token = $('token').value.trim();
      if (!token) return;
      state.token = token;
      storeToken(token, $('remember').checked);
      $('token').value = '';
      start();
    });
    $('filter-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!$('repo')) return;
      state.repo = $('repo').value.trim();
      reload();
    });
    if ($('clear-filter')) {
      $('clear-filter').addEventListener('click', function () {
        $('repo').value = '';
        state.repo = '';
        reload();
      });
    }
    $('export').addEventListener('click', exportCsv);
    $('signout').addEventListener('click', function () {
      forgetToken();
      state.token = null;
      showLogin('Signed out.');
    });
    state.token = storedToken();
    if (state.token) start(); else showLogin();
  });
})();
