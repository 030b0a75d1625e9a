// Org dashboard page script (served as /assets/dashboard.js under a nonce CSP; plain browser
// JavaScript, no build step). Data flows one way: fetch from /api/v1 -> view.update(model).
// `view` is the only thing that draws: replacing it with the shared webview bundle means
// posting the same model through that bundle's message channel instead.
(function () {
  'use strict';

  // The read token lives in sessionStorage (gone when the tab closes) unless the person ticks
  // "Remember on this device" (then localStorage). Either is readable by script on this origin;
  // the strict CSP (nonce scripts only, no inline handlers) is what keeps foreign script out.
  var KEY = 'code-insights.org.readToken';
  var $ = function (id) { return document.getElementById(id); };
  var state = { token: null, org: '', series: [], data: new Map(), repo: '' };

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

  // ---- view: draws a model { org, repo, series: [{ id, label, query, points: [{time, value, repos}] }] }
  var view = (function () {
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
        latest.textContent = last ? last.value.toLocaleString('en-US') + ' · ' + last.repos + ' repos' : '—';
        card.append(h, meta, latest);
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
              options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
            }));
          }
        }
        root.append(card);
      });
    }
    return { update: update };
  })();

  function model() {
    return {
      org: state.org,
      repo: state.repo,
      series: state.series.map(function (s) {
        var d = state.data.get(s.id);
        return { id: s.id, label: s.label, query: s.query, points: d ? d.points : [] };
      }),
    };
  }

  function load() {
    status('Loading…');
    return api('/api/v1/series').then(function (list) {
      state.org = list.org;
      state.series = list.series;
      $('org').textContent = 'org: ' + list.org;
      var q = state.repo ? '?repo=' + encodeURIComponent(state.repo) : '';
      return Promise.all(list.series.map(function (s) {
        return api('/api/v1/series/' + s.id + q).then(function (d) { state.data.set(s.id, d); });
      }));
    }).then(function () {
      view.update(model());
      var n = state.series.length;
      status(n === 0 ? 'This org has no insights yet: push some with `code-insights push`.' : n + (n === 1 ? ' insight' : ' insights') + (state.repo ? ', repositories matching ' + state.repo : ', all repositories'));
    });
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
    var rows = [['series_id', 'label', 'query', 'repo_filter', 'time', 'value', 'repos']];
    model().series.forEach(function (s) {
      s.points.forEach(function (p) { rows.push([s.id, s.label, s.query, state.repo, p.time, p.value, p.repos]); });
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
      state.repo = $('repo').value.trim();
      load().catch(function (err) { status(err.message, true); });
    });
    $('clear-filter').addEventListener('click', function () {
      $('repo').value = '';
      state.repo = '';
      load().catch(function (err) { status(err.message, true); });
    });
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
