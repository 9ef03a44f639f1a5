"use strict";
// bench_runner report: draws the charts and tables from the JSON data in this page. No network, no libraries.
// Model-written text is only ever assigned with textContent.
(function () {
  const started = performance.now();
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const COLORS = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#1b7c83", "#bf3989", "#4d2d00", "#6e7781", "#0550ae"];
  const MAX_SERIES = 12;
  const PAGE = 200;

  function svgEl(tag, attrs, parent) {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svgText(parent, x, y, text, attrs) {
    const t = svgEl("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = text;
    return t;
  }
  function tip(node, text) { svgEl("title", {}, node).textContent = text; }
  const pct = (v) => (v * 100).toFixed(1) + "%";
  const shortId = (id) => id.replace(/^bench_/, "").slice(0, 8);

  // a label per run that tells runs of the same model apart
  const modelCount = {};
  D.runs.forEach((r) => { modelCount[r.model] = (modelCount[r.model] || 0) + 1; });
  D.runs.forEach((r) => { r.label = modelCount[r.model] > 1 ? r.model + " · " + shortId(r.id) : r.model; });
  const color = (i) => COLORS[i % COLORS.length];

  function figure(id, caption, note) {
    const f = el("figure", { "data-chart": id });
    f.appendChild(el("figcaption", {}, caption));
    if (note) f.appendChild(el("p", { class: "note" }, note));
    document.getElementById("charts").appendChild(f);
    return f;
  }
  function chart(fig, width, height) {
    return svgEl("svg", { class: "chart", viewBox: "0 0 " + width + " " + height, role: "img" }, fig);
  }
  function yAxis(svg, x0, x1, y, top, bottom) {
    [0, 0.25, 0.5, 0.75, 1].forEach((v) => {
      const yy = y(v);
      svgEl("line", { class: "axis", x1: x0, x2: x1, y1: yy, y2: yy }, svg);
      svgText(svg, x0 - 4, yy + 4, pct(v).replace(".0", ""), { "text-anchor": "end" });
    });
  }

  // pass@1 per run with its confidence interval: horizontal bars
  function passChart() {
    const runs = D.runs.filter((r) => r.pass1);
    if (!runs.length) return;
    const fig = figure("pass1", "pass@1 per model (95% CI, bootstrap over problems)");
    const left = 220, right = 60, row = 22, width = 600;
    const height = runs.length * row + 30;
    const svg = chart(fig, width, height);
    const x = (v) => left + v * (width - left - right);
    [0, 0.25, 0.5, 0.75, 1].forEach((v) => {
      svgEl("line", { class: "axis", x1: x(v), x2: x(v), y1: 0, y2: height - 18 }, svg);
      svgText(svg, x(v), height - 4, pct(v).replace(".0", ""), { "text-anchor": "middle" });
    });
    runs.forEach((r, i) => {
      const y = i * row + 4;
      const [est, lo, hi] = r.pass1;
      svgText(svg, left - 6, y + 13, r.label.length > 34 ? r.label.slice(0, 33) + "…" : r.label, { "text-anchor": "end" });
      const bar = svgEl("rect", { class: "bar", x: x(0), y: y, width: Math.max(0, x(est) - x(0)), height: row - 6, fill: color(i), opacity: 0.8 }, svg);
      tip(bar, r.label + " (" + r.id + "): " + pct(est) + " [" + pct(lo) + ", " + pct(hi) + "], " + r.problems + " problems");
      svgEl("line", { class: "ci", x1: x(lo), x2: x(hi), y1: y + (row - 6) / 2, y2: y + (row - 6) / 2 }, svg);
      svgEl("line", { class: "ci", x1: x(lo), x2: x(lo), y1: y + 3, y2: y + row - 9 }, svg);
      svgEl("line", { class: "ci", x1: x(hi), x2: x(hi), y1: y + 3, y2: y + row - 9 }, svg);
      svgText(svg, x(hi) + 4, y + 13, pct(est));
    });
  }

  // grouped vertical bars: score per facet value (difficulty, platform), one bar per run
  function facetChart(facet) {
    const runs = D.runs.filter((r) => r.breakdowns[facet]).slice(0, MAX_SERIES);
    if (!runs.length) return;
    const values = [...new Set(runs.flatMap((r) => Object.keys(r.breakdowns[facet])))].sort();
    const skipped = D.runs.filter((r) => r.breakdowns[facet]).length - runs.length;
    const fig = figure("facet-" + facet, "pass@1 per " + facet, skipped > 0 ? "first " + MAX_SERIES + " runs shown" : "");
    const width = 600, height = 240, left = 44, bottom = 40, top = 10;
    const svg = chart(fig, width, height);
    const y = (v) => top + (1 - v) * (height - top - bottom);
    yAxis(svg, left, width - 10, y);
    const group = (width - left - 10) / values.length;
    const bw = Math.min(48, Math.max(2, (group - 12) / runs.length));
    values.forEach((value, g) => {
      svgText(svg, left + g * group + group / 2, height - bottom + 16, value, { "text-anchor": "middle" });
      runs.forEach((r, i) => {
        const cell = r.breakdowns[facet][value];
        if (!cell) return;
        const bx = left + g * group + (group - bw * runs.length) / 2 + i * bw;
        const bar = svgEl("rect", { class: "bar", x: bx, y: y(cell[0]), width: bw - 1, height: y(0) - y(cell[0]), fill: color(D.runs.indexOf(r)), opacity: 0.8 }, svg);
        tip(bar, r.label + ", " + facet + " " + value + ": " + pct(cell[0]) + " of " + cell[1] + " problems");
      });
    });
    legend(svg, runs, left, height - 12);
  }

  function legend(svg, runs, x, y) {
    let cx = x;
    runs.forEach((r) => {
      svgEl("rect", { x: cx, y: y - 8, width: 10, height: 10, fill: color(D.runs.indexOf(r)) }, svg);
      const label = r.label.length > 24 ? r.label.slice(0, 23) + "…" : r.label;
      svgText(svg, cx + 13, y + 1, label);
      cx += 20 + label.length * 6;
    });
  }

  // pass@1 over time, one line per benchmark and model
  function timeChart() {
    const runs = D.runs.filter((r) => r.pass1 && (r.end || r.start));
    if (!runs.length) return;
    const when = (r) => Date.parse(r.end || r.start);
    const series = {};
    runs.forEach((r) => { (series[r.benchmark + " · " + r.model] = series[r.benchmark + " · " + r.model] || []).push(r); });
    const names = Object.keys(series).sort().slice(0, MAX_SERIES);
    const fig = figure("time", "pass@1 over time", runs.length < 2 ? "one run: a single point" : "");
    const rowsOfNames = Math.ceil(names.length / 3);
    const width = 600, left = 44, right = 16, top = 10, bottom = 26 + 13 * rowsOfNames, height = 200 + bottom;
    const svg = chart(fig, width, height);
    const t0 = Math.min(...runs.map(when)), t1 = Math.max(...runs.map(when));
    const span = t1 - t0 || 1;
    const x = (t) => left + (t1 === t0 ? 0.5 : (t - t0) / span) * (width - left - right);
    const y = (v) => top + (1 - v) * (height - top - bottom);
    yAxis(svg, left, width - right, y);
    [t0, t1].forEach((t, i) => {
      if (i === 1 && t1 === t0) return;
      svgText(svg, x(t), height - bottom + 14, new Date(t).toISOString().slice(0, 16).replace("T", " "), { "text-anchor": i ? "end" : "start" });
    });
    names.forEach((name, s) => {
      const pts = series[name].slice().sort((a, b) => when(a) - when(b));
      if (pts.length > 1) {
        svgEl("polyline", { points: pts.map((r) => x(when(r)) + "," + y(r.pass1[0])).join(" "), fill: "none", stroke: color(s), "stroke-width": 1.5 }, svg);
      }
      pts.forEach((r) => {
        svgEl("line", { class: "ci", x1: x(when(r)), x2: x(when(r)), y1: y(r.pass1[1]), y2: y(r.pass1[2]), stroke: color(s) }, svg);
        const dot = svgEl("circle", { class: "point", cx: x(when(r)), cy: y(r.pass1[0]), r: 4, fill: color(s) }, svg);
        tip(dot, name + " " + r.id + ": " + pct(r.pass1[0]));
      });
      svgText(svg, left + (s % 3) * 180, height - bottom + 30 + 13 * Math.floor(s / 3), name.slice(0, 30), { fill: color(s) });
    });
  }

  // tokens per second against score
  function speedChart() {
    const runs = D.runs.filter((r) => r.pass1 && r.tokens_per_second);
    if (!runs.length) return;
    const fig = figure("speed", "tokens/s against pass@1");
    const width = 600, height = 240, left = 44, right = 16, top = 10, bottom = 36;
    const svg = chart(fig, width, height);
    const most = Math.max(...runs.map((r) => r.tokens_per_second)) * 1.1;
    const x = (v) => left + (v / most) * (width - left - right);
    const y = (v) => top + (1 - v) * (height - top - bottom);
    yAxis(svg, left, width - right, y);
    [0, most / 2, most].forEach((v, i) => svgText(svg, x(v), height - bottom + 14, v.toFixed(0), { "text-anchor": ["start", "middle", "end"][i] }));
    svgText(svg, width / 2, height - 4, "tokens/s (mean per sample)", { "text-anchor": "middle" });
    runs.forEach((r) => {
      const dot = svgEl("circle", { class: "point", cx: x(r.tokens_per_second), cy: y(r.pass1[0]), r: 5, fill: color(D.runs.indexOf(r)) }, svg);
      tip(dot, r.label + ": " + r.tokens_per_second.toFixed(1) + " tokens/s, " + pct(r.pass1[0]));
    });
  }

  // zero-shot (first attempt) against iterative (final attempt) for runs with several attempts
  function iterativeChart() {
    const runs = D.runs.filter((r) => r.iterative).slice(0, MAX_SERIES);
    if (!runs.length) return;
    const fig = figure("iterative", "zero-shot vs iterative pass@1");
    const width = 600, height = 240, left = 44, bottom = 40, top = 10;
    const svg = chart(fig, width, height);
    const y = (v) => top + (1 - v) * (height - top - bottom);
    yAxis(svg, left, width - 10, y);
    const group = (width - left - 10) / runs.length;
    const bw = Math.min(60, (group - 16) / 2);
    runs.forEach((r, g) => {
      ["zero-shot", "iterative"].forEach((kind, i) => {
        const v = r.iterative[i];
        const bx = left + g * group + group / 2 - bw + i * bw;
        const bar = svgEl("rect", { class: "bar", x: bx, y: y(v), width: bw - 2, height: y(0) - y(v), fill: i ? color(1) : color(0), opacity: 0.8 }, svg);
        tip(bar, r.label + " " + kind + ": " + pct(v));
      });
      svgText(svg, left + g * group + group / 2, height - bottom + 16, r.label.slice(0, 20), { "text-anchor": "middle" });
    });
    svgText(svg, left, height - 6, "left: zero-shot (first attempt) · right: after repair (final attempt)");
  }

  function runTable() {
    const table = document.getElementById("runs");
    const cols = [
      ["run", (r) => r.id], ["benchmark", (r) => r.benchmark], ["model", (r) => r.model],
      ["pass@1", (r) => (r.pass1 ? pct(r.pass1[0]) + " [" + pct(r.pass1[1]) + ", " + pct(r.pass1[2]) + "]" : "-")],
      ["problems", (r) => r.problems], ["state", (r) => r.state], ["quantization", (r) => r.quantization],
      ["backend", (r) => r.backend], ["GPU layers", (r) => r.gpu_layers], ["prompt", (r) => r.prompt_style],
      ["samples/problem", (r) => r.n_samples], ["temperature", (r) => r.temperature], ["max tokens", (r) => r.max_tokens],
      ["tokens/s", (r) => (r.tokens_per_second ? r.tokens_per_second.toFixed(1) : "")],
      ["duration", (r) => (r.duration_s != null ? r.duration_s.toFixed(1) + " s" : "")], ["started", (r) => r.start],
      ["sandbox", (r) => Object.entries(r.sandbox).map(([k, v]) => k + "=" + (Array.isArray(v) ? v.length : v)).join(" ")],
    ];
    const head = table.createTHead().insertRow();
    cols.forEach(([name]) => head.appendChild(el("th", {}, name)));
    const body = table.createTBody();
    D.runs.forEach((r) => {
      const tr = body.insertRow();
      cols.forEach(([, get]) => { const v = get(r); tr.appendChild(el("td", {}, v === null || v === undefined ? "" : v)); });
    });
  }

  // the per-problem table: sortable, filterable, paged; a click on a run's cell shows its samples
  const facets = [...new Set(D.problems.flatMap((p) => Object.keys(p.attributes)))].filter((f) => {
    const values = new Set(D.problems.map((p) => p.attributes[f]));
    return values.size > 1 && values.size <= 50;
  });
  const manyBenchmarks = new Set(D.problems.map((p) => p.benchmark)).size > 1;
  const rows = D.problems.map((p, i) => {
    let n = 0, passed = 0;
    const cells = D.cells.map((c) => c[i] || null);
    cells.forEach((c) => { if (c) { passed += c[0]; n += c[1]; } });
    return { i: i, p: p, cells: cells, rate: n ? passed / n : -1 };
  });
  const natural = (a, b) => String(a).localeCompare(String(b), undefined, { numeric: true });
  const columns = [{ name: "problem", key: (r) => r.p.id, cmp: natural }];
  if (manyBenchmarks) columns.push({ name: "benchmark", key: (r) => r.p.benchmark, cmp: natural });
  facets.forEach((f) => columns.push({ name: f, key: (r) => r.p.attributes[f] || "", cmp: natural }));
  columns.push({ name: "solve rate", key: (r) => r.rate, cmp: (a, b) => a - b });
  D.runs.forEach((run, k) => columns.push({
    name: run.label, run: k, key: (r) => (r.cells[k] ? r.cells[k][0] / r.cells[k][1] : -1), cmp: (a, b) => a - b,
  }));
  rows.sort((a, b) => natural(a.p.id, b.p.id) || natural(a.p.benchmark, b.p.benchmark));
  let view = rows.slice(), page = 0, sortBy = -1, sortDir = "asc";

  function problemTable() {
    const table = document.getElementById("problems");
    const head = table.createTHead().insertRow();
    columns.forEach((c, k) => {
      const th = el("th", { "data-col": k, title: c.run !== undefined ? D.runs[c.run].id : "click to sort" }, c.name);
      th.addEventListener("click", () => sortTable(k));
      head.appendChild(th);
    });
    table.createTBody();
    document.getElementById("filter").addEventListener("input", (e) => {
      const q = e.target.value.toLowerCase();
      view = rows.filter((r) => !q || r.p.id.toLowerCase().includes(q) || Object.values(r.p.attributes).some((v) => String(v).toLowerCase().includes(q)));
      applySort();
      page = 0;
      fillRows();
    });
    fillRows();
  }
  function applySort() {
    if (sortBy < 0) return;
    const c = columns[sortBy], sign = sortDir === "asc" ? 1 : -1;
    view.sort((a, b) => sign * c.cmp(c.key(a), c.key(b)) || a.i - b.i);
  }
  function sortTable(k) {
    sortDir = sortBy === k && sortDir === "asc" ? "desc" : "asc";
    sortBy = k;
    document.querySelectorAll("#problems th").forEach((th) => th.removeAttribute("data-dir"));
    document.querySelector('#problems th[data-col="' + k + '"]').setAttribute("data-dir", sortDir);
    applySort();
    page = 0;
    fillRows();
  }
  function fillRows() {
    const body = document.querySelector("#problems tbody");
    body.textContent = "";
    view.slice(page * PAGE, (page + 1) * PAGE).forEach((r) => {
      const tr = body.insertRow();
      tr.setAttribute("data-problem", r.p.id);
      columns.forEach((c) => {
        if (c.run === undefined) {
          const v = c.key(r);
          tr.appendChild(el("td", {}, c.name === "solve rate" ? (v < 0 ? "-" : pct(v)) : v));
          return;
        }
        const cell = r.cells[c.run];
        const td = el("td", { class: "cell " + cellClass(cell), "data-run": c.run });
        td.textContent = !cell ? "·" : cell[1] === 1 ? (cell[0] ? "✓" : statusMark(cell[2])) : cell[0] + "/" + cell[1];
        if (cell) {
          td.title = D.runs[c.run].label + ": " + (cell[2] >= 0 ? D.statuses[cell[2]] : "") + " (" + cell[0] + "/" + cell[1] + " passed)";
          td.addEventListener("click", () => showDetail(c.run, r.i));
        }
        tr.appendChild(td);
      });
    });
    pager();
  }
  function cellClass(cell) {
    if (!cell) return "none";
    if (cell[0] === cell[1]) return "pass";
    return cell[0] === 0 && cell[2] <= 1 ? "fail" : "other";
  }
  function statusMark(code) { return { 1: "✗", 2: "T", 3: "E", 4: "R" }[code] || "✗"; }
  function pager() {
    const pages = Math.max(1, Math.ceil(view.length / PAGE));
    const box = document.getElementById("pager");
    box.textContent = view.length + " problems · page " + (page + 1) + " of " + pages + " ";
    [["‹ prev", -1], ["next ›", 1]].forEach(([label, step]) => {
      const b = el("button", { type: "button" }, label);
      b.disabled = page + step < 0 || page + step >= pages;
      b.addEventListener("click", () => { page += step; fillRows(); });
      box.appendChild(b);
    });
  }

  let byCell = null;
  function showDetail(run, problem) {
    if (!byCell) {
      byCell = new Map();
      D.samples.forEach((s) => {
        const key = s[0] + ":" + s[1];
        if (!byCell.has(key)) byCell.set(key, []);
        byCell.get(key).push(s);
      });
    }
    const box = document.getElementById("detail");
    const p = D.problems[problem], r = D.runs[run];
    document.getElementById("detail-title").textContent = p.id + " · " + r.label + " (" + r.id + ")";
    const body = document.getElementById("detail-body");
    body.textContent = "";
    const samples = byCell.get(run + ":" + problem) || [];
    if (!samples.length) body.appendChild(el("p", { class: "note" }, "no sample records for this run (no checkpoint)"));
    samples.forEach((s) => {
      const div = el("div", { class: "attempt" });
      const status = s[4] >= 0 ? D.statuses[s[4]] : "?";
      const head = el("p");
      head.appendChild(el("span", { class: "badge " + (s[4] === 0 ? "pass" : s[4] === 1 ? "fail" : "other") }, status));
      const tests = s[6] != null ? " · tests " + s[5] + "/" + s[6] : "";
      head.appendChild(document.createTextNode(" sample " + s[2] + " · attempt " + (s[3] + 1) + tests));
      div.appendChild(head);
      [["verdict detail", s[8]], ["feedback", s[9]], ["program", s[7]]].forEach(([label, ref]) => {
        if (ref < 0) return;
        div.appendChild(el("div", { class: "note" }, label));
        div.appendChild(el("pre", { class: label.replace(" ", "-") }, D.strings[ref]));
      });
      body.appendChild(div);
    });
    box.hidden = false;
  }
  document.getElementById("detail-close").addEventListener("click", () => { document.getElementById("detail").hidden = true; });

  // optimization runs: one row per task, its test scores with their intervals, budget use, the best prompt
  function optimizationTable() {
    const rows = D.optimizations || [];
    if (!rows.length) return;
    document.getElementById("optimizations-section").hidden = false;
    const table = document.getElementById("optimizations");
    const head = table.appendChild(el("thead")).appendChild(el("tr"));
    ["run", "dataset", "optimizer", "model", "seed", "baseline", "optimized", "gain", "rollouts", "trials", "cost", "time", "stop", "best prompt"]
      .forEach((h) => head.appendChild(el("th", {}, h)));
    const body = table.appendChild(el("tbody"));
    const ci = (v) => (v ? v[0].toFixed(3) + " [" + v[1].toFixed(3) + ", " + v[2].toFixed(3) + "]" : "-");
    rows.forEach((r) => {
      const tr = body.appendChild(el("tr"));
      const stop = r.status === "done" ? r.stop_reason : r.status + ": " + (r.error || "");
      const time = r.duration_s == null ? "" : r.duration_s.toFixed(1) + " s";
      [r.run_id, r.dataset, r.optimizer, r.model, r.seed, ci(r.baseline_test), ci(r.optimized_test), ci(r.gain),
        r.rollouts, r.trials, r.cost, time, stop].forEach((v) => tr.appendChild(el("td", {}, v)));
      tr.appendChild(el("td", { class: "prompt" }, r.best_instruction));
    });
  }

  const total = D.samples.length;
  const optimized = (D.optimizations || []).length;
  document.getElementById("subtitle").textContent =
    D.runs.length + " run(s), " + D.problems.length + " problems, " + total + " sample attempts" +
    (optimized ? ", " + optimized + " optimization task(s)" : "") + " · generated " + D.generated;
  // a report of optimization runs only has no benchmark runs to tabulate
  ["runs-section", "problems-section"].forEach((id) => { document.getElementById(id).hidden = !D.runs.length; });
  passChart();
  ["difficulty", "platform"].forEach(facetChart);
  timeChart();
  speedChart();
  iterativeChart();
  runTable();
  optimizationTable();
  problemTable();
  document.body.setAttribute("data-rendered", "1");
  document.body.setAttribute("data-render-ms", String(Math.round(performance.now() - started)));
})();
