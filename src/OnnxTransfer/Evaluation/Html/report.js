// Renders an OnnxTransfer report from the JSON in #report-data. No network, no libraries: opens from disk.
(() => {
  'use strict';
  const D = JSON.parse(document.getElementById('report-data').textContent);
  const $ = (s, r = document) => r.querySelector(s);
  const $$ = (s, r = document) => Array.from(r.querySelectorAll(s));
  const esc = s => String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const num = v => v == null || !isFinite(v) ? 'n/a' : v.toFixed(4);
  const pct = v => v == null || !isFinite(v) ? 'n/a' : (100 * v).toFixed(1) + '%';
  const COLORS = ['#2f6fdf', '#d9480f', '#2b8a3e', '#ae3ec9', '#e8590c', '#1098ad', '#f08c00', '#5c7cfa', '#c2255c', '#495057'];
  const section = (title, body, id, sub) => `<section${id ? ` id="${id}"` : ''}><h2>${esc(title)}</h2>${sub ? `<p class="sub">${sub}</p>` : ''}${body}</section>`;
  const kv = map => `<table class="kv">${Object.entries(map).map(([k, v]) => `<tr><td>${esc(k.replace(/_/g, ' '))}</td><td>${esc(v)}</td></tr>`).join('')}</table>`;
  const tile = (label, value, id) => `<div class="tile"${id ? ` id="${id}"` : ''}><b>${esc(value)}</b><span>${esc(label)}</span></div>`;

  // A line chart as SVG. o: {title, x: {label, min, max, log}, y: {label, min, max}, series: [{name, points: [[x, y]]}], diagonal, vline, marker}.
  function chart(o) {
    const W = 380, H = 270, L = 50, R = 12, T = 10, B = 42;
    const tx = v => o.x.log ? Math.log10(Math.max(v, o.x.min)) : v;
    const x0 = tx(o.x.min), x1 = tx(o.x.max), y0 = o.y.min, y1 = o.y.max;
    const px = v => L + (tx(v) - x0) / ((x1 - x0) || 1) * (W - L - R);
    const py = v => H - B - (v - y0) / ((y1 - y0) || 1) * (H - T - B);
    const ticks = (a, b, log) => {
      if (log) { const t = []; for (let e = Math.ceil(a); e <= Math.floor(b); e++) t.push(Math.pow(10, e)); return t; }
      const step = niceStep((b - a) / 5), t = [];
      for (let v = Math.ceil(a / step) * step; v <= b + 1e-9; v += step) t.push(+v.toPrecision(6));
      return t;
    };
    const label = v => Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(0) : String(+v.toPrecision(3));
    let s = `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(o.title)}">`;
    for (const v of ticks(x0, x1, o.x.log)) s += `<line class="gridline" x1="${px(v)}" x2="${px(v)}" y1="${T}" y2="${H - B}"/><text x="${px(v)}" y="${H - B + 13}" text-anchor="middle">${label(v)}</text>`;
    for (const v of ticks(y0, y1, false)) s += `<line class="gridline" x1="${L}" x2="${W - R}" y1="${py(v)}" y2="${py(v)}"/><text x="${L - 4}" y="${py(v) + 3}" text-anchor="end">${label(v)}</text>`;
    s += `<line class="axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/><line class="axis" x1="${L}" x2="${L}" y1="${T}" y2="${H - B}"/>`;
    s += `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">${esc(o.x.label)}</text>`;
    s += `<text transform="translate(12 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(o.y.label)}</text>`;
    if (o.diagonal) s += `<line x1="${px(o.x.min)}" y1="${py(o.y.min)}" x2="${px(o.x.max)}" y2="${py(o.y.max)}" stroke="#bbb" stroke-dasharray="4 3"/>`;
    if (o.vline != null) s += `<line x1="${px(o.vline.x)}" x2="${px(o.vline.x)}" y1="${T}" y2="${H - B}" stroke="#888" stroke-dasharray="3 3"/><text x="${px(o.vline.x) + 3}" y="${T + 10}">${esc(o.vline.label)}</text>`;
    o.series.forEach((se, i) => {
      const c = se.color || COLORS[i % COLORS.length];
      const pts = se.points.filter(p => isFinite(p[0]) && isFinite(p[1]));
      if (pts.length === 0) return;
      s += `<path d="${pts.map((p, j) => `${j ? 'L' : 'M'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join('')}" fill="none" stroke="${c}" stroke-width="1.8"${se.dash ? ' stroke-dasharray="5 3"' : ''}/>`;
      if (se.dots) for (const p of pts) s += `<circle cx="${px(p[0])}" cy="${py(p[1])}" r="${p[2] || 3}" fill="${c}" fill-opacity=".6"><title>${esc(p[3] || '')}</title></circle>`;
    });
    if (o.marker) s += `<circle class="marker" cx="${px(o.marker[0])}" cy="${py(o.marker[1])}" r="5" fill="none" stroke="#c9372c" stroke-width="2"/>`;
    s += '</svg>';
    const legend = o.series.length > 1 ? `<div class="legend">${o.series.map((se, i) => `<i style="background:${se.color || COLORS[i % COLORS.length]}"></i>${esc(se.name)}`).join('')}</div>` : '';
    return `<figure><figcaption>${esc(o.title)}</figcaption>${s}${legend}</figure>`;
  }
  function niceStep(raw) {
    const p = Math.pow(10, Math.floor(Math.log10(raw || 1))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
  }

  // Confusion matrix: counts with row percentages, shaded by the row share.
  function confusion(classes, m, id) {
    let s = `<table class="cm" id="${id}"><tr><th class="corner">true \\ predicted</th>${classes.map(c => `<th>${esc(c)}</th>`).join('')}</tr>`;
    m.forEach((row, t) => {
      const total = row.reduce((a, b) => a + b, 0);
      s += `<tr><th>${esc(classes[t])}</th>${row.map((v, p) => {
        const share = total ? v / total : 0, color = p === t ? '47,111,223' : '201,55,44';
        return `<td data-true="${t}" data-pred="${p}" style="background:rgba(${color},${(0.08 + 0.6 * share).toFixed(2)})"><b class="n">${v}</b><small>${pct(share)}</small></td>`;
      }).join('')}</tr>`;
    });
    return s + '</table>';
  }

  // ROC and precision-recall points of one score against binary truth, ties taken together.
  function curves(scores, positive) {
    const order = scores.map((s, i) => i).sort((a, b) => scores[b] - scores[a]);
    const P = positive.filter(Boolean).length, N = positive.length - P;
    const roc = [[0, 0]], pr = [];
    let tp = 0, fp = 0, auc = 0;
    for (let i = 0; i < order.length;) {
      const s = scores[order[i]];
      for (; i < order.length && scores[order[i]] === s; i++) positive[order[i]] ? tp++ : fp++;
      const prev = roc[roc.length - 1], pt = [N ? fp / N : 0, P ? tp / P : 0];
      auc += (pt[0] - prev[0]) * (pt[1] + prev[1]) / 2;
      roc.push(pt);
      pr.push([P ? tp / P : 0, tp / (tp + fp)]);
    }
    return { roc, pr, auc: P && N ? auc : NaN };
  }

  function classification() {
    const C = D.classes, items = D.items, binary = C.length === 2;
    const score = (it, k) => it.s[k];
    const ctx = Object.assign({}, D.context);
    let html = `<h1>${esc(D.title)}</h1><p class="sub">${esc(D.n)} items scored on split <b>${esc(ctx.split || 'n/a')}</b>` +
      (ctx.early_stopping ? `; early stopping watched split <b>${esc(ctx.early_stopping)}</b>` : '') + `. Written ${esc(D.written)}.</p>`;
    html += '<div class="pair">' + section('Summary', kv(ctx), 'summary');
    const m = D.metrics;
    html += section('Metrics', `<div class="tiles">${tile('accuracy', num(m.accuracy))}${tile('balanced accuracy', num(m.balanced_accuracy))}${tile('macro F1', num(m.macro_f1))}${tile(C.length > 2 ? 'ROC-AUC (one-vs-rest macro)' : 'ROC-AUC', num(m.roc_auc))}${tile('log-loss', num(m.log_loss))}${tile('items', D.n)}</div>
      <h3>Per class</h3><table id="per-class"><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>${D.per_class.map(p => `<tr><td>${esc(p.name)}</td><td>${num(p.precision)}</td><td>${num(p.recall)}</td><td>${num(p.f1)}</td><td>${p.support}</td></tr>`).join('')}</table>`, 'metrics') + '</div>';
    html += section('Confusion matrix', confusion(C, D.confusion, 'confusion'), 'confusion-section', 'Rows: true class; columns: predicted class (arg-max). Each cell: count and share of its row.');
    if (binary) {
      html += section(`Decision threshold on P(${C[1]})`, `<div class="slider"><label for="threshold">threshold</label><input type="range" id="threshold" min="0" max="1" step="0.001" value="0.5"><output id="threshold-value">0.500</output></div>
        <div id="threshold-cm"></div><div class="tiles" id="threshold-metrics"></div>`, 'threshold-section',
        `An item counts as <b>${esc(C[1])}</b> when its score for it is at least the threshold. Drag to trade missed ${esc(C[1])} for false alarms.`);
    }
    const figs = [];
    const shown = binary ? [1] : C.map((c, k) => k).slice(0, 10);
    const rocs = shown.map(k => ({ k, ...curves(items.map(it => score(it, k)), items.map(it => it.t === k)) })).filter(r => isFinite(r.auc));
    if (rocs.length) {
      figs.push(chart({ title: binary ? `ROC of ${C[1]}` : 'ROC (one-vs-rest)', x: { label: 'false-positive rate', min: 0, max: 1 }, y: { label: 'true-positive rate', min: 0, max: 1 }, diagonal: true,
        series: rocs.map(r => ({ name: `${C[r.k]} (AUC ${r.auc.toFixed(3)})`, points: r.roc })) }));
      figs.push(chart({ title: binary ? `Precision-recall of ${C[1]}` : 'Precision-recall (one-vs-rest)', x: { label: 'recall', min: 0, max: 1 }, y: { label: 'precision', min: 0, max: 1 },
        series: rocs.map(r => ({ name: C[r.k], points: r.pr })) }));
    }
    // Reliability: items binned by their top score; a calibrated model's accuracy in a bin equals its mean confidence.
    const bins = Array.from({ length: 10 }, () => ({ n: 0, conf: 0, right: 0 }));
    let ece = 0;
    for (const it of items) {
      const conf = score(it, it.p), b = bins[Math.min(9, Math.floor(conf * 10))];
      b.n++; b.conf += conf; b.right += it.p === it.t ? 1 : 0;
    }
    const used = bins.filter(b => b.n > 0);
    for (const b of used) ece += b.n / items.length * Math.abs(b.right / b.n - b.conf / b.n);
    figs.push(chart({ title: `Reliability (ECE ${ece.toFixed(3)})`, x: { label: 'confidence (top score)', min: 0, max: 1 }, y: { label: 'accuracy', min: 0, max: 1 }, diagonal: true,
      series: [{ name: 'bins', dots: true, points: used.map(b => [b.conf / b.n, b.right / b.n, 3 + 6 * Math.sqrt(b.n / items.length), `${b.n} items, accuracy ${(b.right / b.n).toFixed(3)}`]) }] }));
    if (D.history && D.history.epochs.length) {
      const h = D.history, ep = h.epochs, kept = h.kept ? { x: h.kept, label: `kept ${h.axis} ${h.kept}` } : null;
      const xr = { label: h.axis, min: 1, max: Math.max(2, ep.length) };
      const losses = ep.flatMap(e => [e.train_loss, e.val_loss]).filter(v => v != null && isFinite(v));
      figs.push(chart({ title: 'Learning curve: loss', x: xr, y: { label: 'loss', min: 0, max: Math.max(...losses, 0.1) * 1.05 }, vline: kept,
        series: [{ name: 'train', points: ep.map(e => [e.epoch, e.train_loss]) }, { name: 'validation', points: ep.filter(e => e.val_loss != null).map(e => [e.epoch, e.val_loss]) }] }));
      figs.push(chart({ title: 'Learning curve: accuracy', x: xr, y: { label: 'accuracy', min: 0, max: 1 }, vline: kept,
        series: [{ name: 'train', points: ep.map(e => [e.epoch, e.train_accuracy]) }, { name: 'validation', points: ep.filter(e => e.val_accuracy != null).map(e => [e.epoch, e.val_accuracy]) }] }));
    }
    html += section('Curves', `<div class="grid">${figs.join('')}</div>`, 'curves');
    const options = C.map((c, k) => `<option value="${k}">${esc(c)}</option>`).join('');
    html += section('Gallery', `<div class="filters"><label>true class <select id="filter-true"><option value="">any</option>${options}</select></label>
      <label>predicted class <select id="filter-pred"><option value="">any</option>${options}</select></label>
      <label><input type="checkbox" id="show-wrong" checked> misclassified</label><label><input type="checkbox" id="show-unsure" checked> least confident correct</label>
      <span class="count" id="gallery-count"></span></div><div class="gallery" id="gallery">${D.gallery.map(card).join('')}</div>`, 'gallery-section',
      `${D.gallery.filter(g => g.kind === 'wrong').length} misclassified items, then the ${D.gallery.filter(g => g.kind === 'unsure').length} correct ones with the lowest score for their class.`);
    $('#app').innerHTML = html;

    function card(g) {
      const it = items[g.i], top = it.s.map((v, k) => [k, v]).sort((a, b) => b[1] - a[1]).slice(0, 3);
      const media = g.thumb ? `<img src="${g.thumb}" alt="">` : g.audio ? `<audio controls preload="none" src="${g.audio}"></audio>` : '';
      return `<div class="card" data-kind="${g.kind}" data-true="${it.t}" data-pred="${it.p}" data-path="${esc(it.path)}">${media}
        <div class="name" title="${esc(it.path)}">${esc(it.path.split(/[\\/]/).pop())}</div>
        <div class="verdict">true <b>${esc(C[it.t])}</b> → <b class="${it.t === it.p ? 'ok' : 'bad'}">${esc(C[it.p])}</b></div>
        <table>${top.map(([k, v]) => `<tr><td>${esc(C[k])}</td><td>${v.toFixed(3)}</td></tr>`).join('')}</table></div>`;
    }
    const filter = () => {
      const t = $('#filter-true').value, p = $('#filter-pred').value, kinds = { wrong: $('#show-wrong').checked, unsure: $('#show-unsure').checked };
      let n = 0;
      for (const c of $$('#gallery .card')) {
        const show = kinds[c.dataset.kind] && (t === '' || c.dataset.true === t) && (p === '' || c.dataset.pred === p);
        c.hidden = !show; n += show ? 1 : 0;
      }
      $('#gallery-count').textContent = `${n} shown`;
    };
    $$('.filters select, .filters input').forEach(e => e.addEventListener('change', filter));
    filter();

    if (binary) {
      const slider = $('#threshold');
      const update = () => {
        const th = +slider.value;
        const cm = [[0, 0], [0, 0]];
        for (const it of items) cm[it.t][score(it, 1) >= th ? 1 : 0]++;
        const [[tn, fp], [fn, tp]] = cm, n = items.length;
        const precision = tp + fp ? tp / (tp + fp) : 0, recall = tp + fn ? tp / (tp + fn) : 0;
        $('#threshold-value').textContent = th.toFixed(3);
        $('#threshold-cm').innerHTML = confusion(C, cm, 'threshold-confusion');
        $('#threshold-metrics').innerHTML = tile('accuracy', num((tp + tn) / n)) + tile(`precision (${C[1]})`, num(precision)) + tile(`recall (${C[1]})`, num(recall)) +
          tile('F1', num(precision + recall ? 2 * precision * recall / (precision + recall) : 0)) + tile('false-positive rate', num(fp + tn ? fp / (fp + tn) : 0));
      };
      slider.addEventListener('input', update);
      update();
    }
  }

  function wakeword() {
    let html = `<h1>${esc(D.title)}</h1><p class="sub">${D.positives} positive clips, ${(D.negative_hours * 60).toFixed(1)} min of negative audio. Written ${esc(D.written)}.</p>`;
    html += section('Summary', kv(D.context), 'summary');
    D.models.forEach((m, i) => {
      const det = m.det, maxFa = Math.max(1, ...det.map(p => p.fa_per_hour));
      const start = det.reduce((b, p, j) => Math.abs(p.threshold - m.operating) < Math.abs(det[b].threshold - m.operating) ? j : b, 0);
      html += section(`${m.wake_word} — ${m.name}`, `<div class="slider"><label>threshold</label><input type="range" class="ww-slider" min="0" max="${det.length - 1}" step="1" value="${start}"><output class="ww-threshold"></output></div>
        <div class="tiles">${tile('false-reject rate', '', '')}${tile('false accepts per hour', '', '')}${tile('recommended threshold', m.recommended)}</div>
        <div class="ww-det"></div>
        <h3>False rejects at this threshold <span class="count ww-fr-count"></span></h3><div class="clips ww-fr"></div>
        <h3>False accepts at threshold ${m.operating} <span class="count">(${m.false_accepts.length}${m.false_accepts_listed < m.false_accepts.length ? `, ${m.false_accepts_listed} playable` : ''})</span></h3>
        <div class="clips">${m.false_accepts.map(f => `<div class="clip fa">${f.audio ? `<audio controls preload="none" src="${f.audio}"></audio>` : ''}${esc(f.file)} at ${f.time.toFixed(2)} s, score ${f.score.toFixed(3)}</div>`).join('')}</div>`,
        `ww-${i}`, `Drag the threshold: the false-reject rate on positive clips and the false accepts per hour of negative audio at each threshold.`);
    });
    $('#app').innerHTML = html;
    D.models.forEach((m, i) => {
      const root = $(`#ww-${i}`), slider = $('.ww-slider', root), det = m.det;
      const [frrTile, faTile] = $$('.tile b', root);
      frrTile.classList.add('ww-frr'); faTile.classList.add('ww-fah');
      const minFa = Math.min(0.01, ...det.filter(p => p.fa_per_hour > 0).map(p => p.fa_per_hour)) / 2;
      const maxFa = Math.max(1, ...det.map(p => p.fa_per_hour));
      const floor = v => Math.max(v, minFa);
      const update = () => {
        const p = det[+slider.value];
        $('.ww-threshold', root).textContent = p.threshold.toString();
        frrTile.textContent = pct(p.frr);
        faTile.textContent = p.fa_per_hour.toFixed(2);
        $('.ww-det', root).innerHTML = chart({ title: 'DET: false rejects vs false accepts', x: { label: 'false accepts per hour (0 drawn at the left edge)', min: minFa, max: maxFa, log: true },
          y: { label: 'false-reject rate', min: 0, max: 1 }, series: [{ name: m.name, points: det.map(q => [floor(q.fa_per_hour), q.frr]) }], marker: [floor(p.fa_per_hour), p.frr] });
        const missed = m.positives.filter(q => q.score < p.threshold);
        $('.ww-fr-count', root).textContent = `(${missed.length} of ${m.positives.length})`;
        $('.ww-fr', root).innerHTML = missed.slice(0, 200).map(q => `<div class="clip fr">${q.audio ? `<audio controls preload="none" src="${q.audio}"></audio>` : ''}${esc(q.file)}, best score ${q.score.toFixed(3)}</div>`).join('');
      };
      slider.addEventListener('input', update);
      update();
    });
  }

  if (D.kind === 'wakeword') wakeword(); else classification();
  document.body.dataset.rendered = 'true';
})();
