/* report/page.js: renders the report document (the JSON in #servesim-report, built by
 * report/*.c) into the page: a header, one section per view with its notes and tables, and
 * every chart through vega-embed. It draws nothing itself: charts are Vega-Lite specs.
 *
 * window.servesimReport tells a test (tests/report/check_report.py) when every chart has
 * settled and how many marks each one drew; a chart that fails or draws nothing is reported
 * on the console as an error. */
(function () {
  'use strict';
  var status = { done: false, charts: [], errors: [] };
  window.servesimReport = status;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function fmt(v) {
    if (v === null || v === undefined) return '\u2013';
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (typeof v !== 'number') return String(v);
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e9 || a < 1e-4)) return v.toExponential(3);
    return v.toLocaleString('en-US', { maximumSignificantDigits: 5 });
  }

  /* columnar {fields, rows} -> the row objects Vega-Lite reads */
  function objects(d) {
    var f = d.fields;
    return d.rows.map(function (r) {
      var o = {};
      for (var i = 0; i < f.length; i++) o[f[i]] = r[i];
      return o;
    });
  }

  /* items drawn by the spec's own marks (not axes, legends or titles) */
  function countMarks(root) {
    var n = 0;
    (function walk(node) {
      if (!node) return;
      if (node.marktype) {
        if (node.role === 'mark' && node.marktype !== 'group') n += (node.items || []).length;
        (node.items || []).forEach(walk);
      } else if (node.items) {
        node.items.forEach(walk);
      }
    })(root);
    return n;
  }

  function table(t) {
    var wrap = el('div', 'table');
    wrap.appendChild(el('h3', null, t.title));
    var tab = el('table');
    var head = el('tr');
    t.columns.forEach(function (c) { head.appendChild(el('th', null, c)); });
    tab.appendChild(head);
    t.rows.forEach(function (r) {
      var tr = el('tr');
      r.forEach(function (v) {
        var td = el('td', typeof v === 'number' ? 'num' : null, fmt(v));
        if (typeof v === 'number') td.title = String(v);
        tr.appendChild(td);
      });
      tab.appendChild(tr);
    });
    wrap.appendChild(tab);
    return wrap;
  }

  var doc = JSON.parse(document.getElementById('servesim-report').textContent);
  var root = document.getElementById('report');
  var header = el('header');
  header.appendChild(el('h1', null, doc.title));
  header.appendChild(el('p', 'inputs', 'inputs: ' + doc.inputs.join(', ')));
  var nav = el('nav');
  doc.sections.forEach(function (s, i) {
    var a = el('a', null, s.title);
    a.href = '#s' + i;
    nav.appendChild(a);
  });
  header.appendChild(nav);
  root.appendChild(header);

  /* one look for every chart: legends under the plot so that two charts fit side by side */
  var embedConfig = {
    legend: { orient: 'bottom', direction: 'horizontal', labelLimit: 320, columns: 3 },
    axis: { labelFontSize: 11, titleFontSize: 11.5 },
    view: { stroke: null }
  };

  var jobs = [];
  doc.sections.forEach(function (s, si) {
    var sec = el('section', s.kind);
    sec.id = 's' + si;
    sec.appendChild(el('h2', null, s.title));
    if (s.source) sec.appendChild(el('p', 'source', 'source: ' + s.source));
    if (s.notes.length) {
      var ul = el('ul', 'notes');
      s.notes.forEach(function (n) { ul.appendChild(el('li', null, n)); });
      sec.appendChild(ul);
    }
    var tables = el('div', 'tables');
    s.tables.forEach(function (t) { tables.appendChild(table(t)); });
    sec.appendChild(tables);
    var datasets = {};
    Object.keys(s.data).forEach(function (k) { datasets[k] = objects(s.data[k]); });
    var grid = el('div', 'charts');
    s.charts.forEach(function (c, ci) {
      var fig = el('figure', 'chart');
      var cap = el('figcaption');
      cap.appendChild(el('strong', null, c.title));
      if (c.note) cap.appendChild(el('span', 'note', c.note));
      fig.appendChild(cap);
      var box = el('div', 'vis');
      box.id = 's' + si + 'c' + ci;
      fig.appendChild(box);
      grid.appendChild(fig);
      var spec = Object.assign({}, c.spec, { datasets: datasets });
      var rec = { id: box.id, section: s.title, title: c.title, ok: false, marks: 0, error: null };
      status.charts.push(rec);
      jobs.push(vegaEmbed(box, spec, {
        renderer: 'svg',
        actions: { export: true, source: false, compiled: false, editor: false },
        config: embedConfig
      }).then(function (res) {
        rec.marks = countMarks(res.view.scenegraph().root);
        rec.ok = rec.marks > 0;
        if (!rec.ok) {
          rec.error = 'no marks';
          console.error('servesim report: chart "' + c.title + '" drew nothing');
        }
      }, function (err) {
        rec.error = String(err);
        status.errors.push(rec.id + ': ' + err);
        box.textContent = 'chart failed: ' + err;
        console.error('servesim report: chart "' + c.title + '" failed: ' + err);
      }));
    });
    sec.appendChild(grid);
    root.appendChild(sec);
  });

  var gen = document.querySelector('meta[name=generator]');
  var foot = el('footer', null,
    'written by ' + (gen ? gen.content : 'servesim') +
    ' \u00b7 charts: Vega ' + vega.version + ', Vega-Lite ' + vegaLite.version +
    ', vega-embed ' + vegaEmbed.version + ' (BSD-3-Clause), inlined: no network needed');
  root.appendChild(foot);

  Promise.all(jobs).then(function () {
    status.done = true;
    document.body.setAttribute('data-done', '1');
  });
})();
