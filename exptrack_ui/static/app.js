// exptrack ui: every page is built from the JSON API with DOM nodes and textContent only, never
// innerHTML, so a run name or metric like <img src=x onerror=...> is shown as text. Plotly
// parses a few tags in labels, so every label given to it goes through esc().
(function () {
  "use strict";
  const dataNode = document.getElementById("exptrack-data");
  const REPORT = dataNode ? JSON.parse(dataNode.textContent) : null;
  const here = REPORT ? new URL(REPORT.location, "http://report.invalid") : window.location;
  const query = new URLSearchParams(here.search);
  const app = document.getElementById("app");
  const POLL_MS = 1000;
  // when each part of a page was drawn (ms since navigation): benchmarks/ui_speed.py reads it
  const marks = (window.__exptrackMarks = {});
  const mark = (name) => { if (!(name in marks)) marks[name] = Math.round(performance.now()); };
  mark("script");
  const FINAL = ["completed", "failed", "killed", "pruned", "timed_out", "crashed"];

  async function get(path) {
    if (REPORT) {
      if (!(path in REPORT.answers)) throw new Error("not in this report: " + path);
      return REPORT.answers[path];
    }
    const r = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await r.json().catch(() => ({ error: r.statusText }));
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const fmt = (v) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(5)))) : v === null || v === undefined ? "" : String(v));
  const num = (v) => (typeof v === "number" ? v : v === "nan" || v === "inf" || v === "-inf" ? NaN : Number(v));
  const link = (href, text) => (REPORT ? el("span", {}, text) : el("a", { href }, text));
  const runLink = (id) => link("/runs/" + encodeURIComponent(id), id);
  const sweepLink = (id) => link("/sweeps/" + encodeURIComponent(id), id);
  const statusCell = (s) => el("span", { class: "status-" + s }, s);
  function fail(where, err) { where.append(el("p", { class: "error" }, String(err.message || err))); }
  // replaceChildren would show a null child as the text "null"
  function fill(node, ...children) { node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false)); return node; }
  function section(title, ...content) { return el("section", {}, el("h2", {}, title), ...content); }
  function setLive(on) { document.getElementById("live").textContent = on ? "● live" : ""; }
  function every(ms, fn) { if (REPORT) return; let busy = false; setInterval(async () => { if (busy) return; busy = true; try { await fn(); } finally { busy = false; } }, ms); }
  const layout = (title, extra) => Object.assign({ title: { text: esc(title), font: { size: 14 } }, margin: { l: 50, r: 20, t: 40, b: 40 }, height: 320, hovermode: "closest" }, extra || {});
  // plotly.js (4.6 MB, about a second of the main thread to evaluate on a slow machine) is only
  // preloaded by the page: it runs once the first screen is drawn (sketch.js's canvas drawings)
  // or when a chart needs it. A report has it inline, before this script.
  let plotlyLoading = null;
  function plotlyReady() {
    if (!plotlyLoading) plotlyLoading = window.Plotly ? Promise.resolve() : new Promise((res, rej) => {
      const pre = document.querySelector("link[rel=preload][as=script]");
      const s = el("script", { src: pre ? pre.href : "/static/plotly.min.js" });
      s.addEventListener("load", res);
      s.addEventListener("error", () => rej(new Error("plotly.js did not load: the charts stay as drawn")));
      document.head.append(s);
    });
    return plotlyLoading.then(() => mark("plotly"));
  }
  const plot = async (div, data, lay) => {
    await plotlyReady();
    for (const old of div.querySelectorAll(":scope > canvas.sketch")) old.remove(); // the interactive chart replaces it
    return Plotly.react(div, data, lay, { displaylogo: false, responsive: true });
  };
  // the first drawing of a chart before plotly.js is there (never once it is: Plotly redraws)
  const SKETCH = window.exptrackSketch;
  const sketching = () => !window.Plotly && SKETCH;
  // the first screen's charts are on the page: let the browser paint them, then mark the time
  const firstDrawn = () => painted().then(() => { mark("first"); document.body.dataset.first = "1"; });
  // A chart below the fold is drawn when it scrolls near (Plotly takes the main thread ~0.1-1 s a
  // chart here): the first screen is drawn first. Its latest drawing waits for it; a report
  // (opened offline, screenshotted, printed) draws everything at once.
  const pendingDraw = new Map(), onScreen = new WeakSet();
  let firstScreen = Promise.resolve(); // the page's first charts: lazy ones wait for them
  const observer = !REPORT && "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      onScreen.add(e.target); observer.unobserve(e.target);
      const draw = pendingDraw.get(e.target); pendingDraw.delete(e.target);
      if (draw) firstScreen.then(draw);
    }
  }, { rootMargin: "200px" }) : null;
  function lazy(div, draw) {
    if (!observer || onScreen.has(div)) return draw();
    pendingDraw.set(div, draw); observer.observe(div);
    return Promise.resolve();
  }
  // the data is on the page: let the browser paint it before the charts take the main thread
  // (the mark is taken after that frame: the time the user sees it, layout and paint included)
  const painted = () => new Promise((res) => requestAnimationFrame(() => setTimeout(res, 0)));
  const shown = () => painted().then(() => { mark("shown"); document.body.dataset.shown = "1"; });

  function table(columns, rows, opts) {
    // rows: arrays of cells (a Node or a value); opts.sort(col) makes headers clickable
    opts = opts || {};
    const head = el("tr", {}, columns.map((c) => {
      const th = el("th", { class: opts.sorted && opts.sorted === c ? "sorted" + (opts.desc ? "" : " asc") : "", title: c }, c);
      if (opts.sort) th.addEventListener("click", () => opts.sort(c));
      return th;
    }));
    const body = rows.map((r) => el("tr", {}, r.map((v) => el("td", { class: typeof v === "number" ? "num" : "" }, v instanceof Node ? v : fmt(v)))));
    return el("div", { class: "scroll" }, el("table", {}, el("thead", {}, head), el("tbody", {}, body)));
  }
  const kv = (obj) => table(["name", "value"], Object.entries(obj || {}).map(([k, v]) => [k, v]));

  // ---- / : the runs table -------------------------------------------------------------------
  async function runsPage() {
    const state = { experiment: query.get("experiment") || "", sweep: query.get("sweep") || "", status: query.get("status") || "", filter: query.get("filter") || "", sort: query.get("sort") || "", desc: query.get("desc") === "1", offset: 0 };
    const selected = new Set();
    const controls = el("div", { class: "controls" });
    const result = el("div", { id: "runs" });
    const sweepsBox = el("div", { id: "sweeps" });
    fill(app, el("h1", {}, "Runs"), controls, result, section("Sweeps", sweepsBox));
    const select = (name, values) => {
      const s = el("select", { name }, el("option", { value: "" }, "any " + name), values.map((v) => el("option", { value: v }, v)));
      s.value = state[name];
      s.addEventListener("change", () => { state[name] = s.value; state.offset = 0; load(); });
      return s;
    };
    async function load() {
      const q = new URLSearchParams({ experiment: state.experiment, sweep: state.sweep, status: state.status, filter: state.filter, sort: state.sort, desc: state.desc ? "1" : "0", offset: state.offset, limit: 100 });
      let data;
      try { data = await get("/api/runs?" + q); } catch (e) { result.replaceChildren(); fail(result, e); return; }
      const filter = el("input", { type: "text", name: "filter", placeholder: "filter, e.g. val_acc>0.9,model.name==resnet18", value: state.filter });
      filter.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { state.filter = filter.value; state.offset = 0; load(); } });
      const compare = el("button", { onclick: () => { if (selected.size) window.location = "/compare?runs=" + [...selected].map(encodeURIComponent).join(","); } }, "compare selected");
      controls.replaceChildren(select("experiment", data.experiments), select("sweep", data.sweeps), select("status", data.statuses), filter, compare);
      const cols = data.columns;
      const rows = data.rows.map((r) => {
        const box = el("input", { type: "checkbox", checked: selected.has(r[0]) });
        box.addEventListener("change", () => (box.checked ? selected.add(r[0]) : selected.delete(r[0])));
        return [box, ...r.map((v, i) => (cols[i] === "run_id" ? runLink(v) : cols[i] === "sweep_id" && v ? sweepLink(v) : cols[i] === "status" ? statusCell(v) : v))];
      });
      const sort = (c) => { if (c === "") return; state.desc = state.sort === c ? !state.desc : false; state.sort = c; load(); };
      const end = Math.min(data.offset + data.rows.length, data.total);
      const pager = el("div", { class: "controls" }, el("span", { id: "count" }, `${data.total ? data.offset + 1 : 0}–${end} of ${data.total} run(s)`),
        el("button", { disabled: data.offset === 0, onclick: () => { state.offset = Math.max(0, state.offset - 100); load(); } }, "previous"),
        el("button", { disabled: end >= data.total, onclick: () => { state.offset += 100; load(); } }, "next"));
      result.replaceChildren(pager, table(["", ...cols], rows, { sort, sorted: state.sort, desc: state.desc }));
      await shown();
      document.body.dataset.loaded = "1";
    }
    await load();
    try {
      const sweeps = await get("/api/sweeps");
      sweepsBox.replaceChildren(sweeps.length ? table(["sweep", "name", "status", "trials", "by status"], sweeps.map((s) => [sweepLink(s.sweep_id), s.name, statusCell(s.status), s.trials, Object.entries(s.counts).map(([k, v]) => `${k} ${v}`).join(", ")])) : el("p", { class: "muted" }, "no sweeps"));
    } catch (e) { fail(sweepsBox, e); }
  }

  // ---- /runs/<id> -------------------------------------------------------------------------
  async function runPage() {
    const runId = decodeURIComponent(here.pathname.split("/")[2] || "");
    const curvesUrl = "/api/runs/" + encodeURIComponent(runId) + "/curves";
    let pending = get(curvesUrl).catch(() => null); // asked at once, beside the run itself
    let run;
    try { run = await get("/api/runs/" + encodeURIComponent(runId)); } catch (e) { fill(app); fail(app, e); return; }
    const charts = el("div", { class: "grid", id: "charts" });
    const arts = run.artifacts.map((a) => {
      const href = "/artifacts/" + encodeURIComponent(run.run_id) + "/" + a.name.split("/").map(encodeURIComponent).join("/");
      const image = /\.(png|jpe?g|gif|webp)$/i.test(a.name);
      return el("div", {}, link(href, `${a.name} (${a.size} bytes)`), image && !REPORT ? el("img", { class: "artifact", src: href, alt: a.name }) : null);
    });
    // per-class scores are a table and a bar chart by class, not one-point curves
    const pc = run.per_class, byClass = new Set(pc ? pc.metrics : []);
    const summary = Object.entries(run.summary).filter(([k]) => !byClass.has(k)).map(([k, s]) => [k, s.last, s.min, s.max, s.count]);
    const pcBars = el("div", { class: "chart", id: "per-class-chart" });
    const pcSection = pc ? section(`Per-class metrics (${pc.source})`, el("div", { id: "per-class" }, table(["class", ...pc.scores], pc.classes.map((c) => [c, ...pc.scores.map((k) => pc.rows[c][k])]))), pcBars) : null;
    fill(app, 
      el("h1", {}, "Run ", run.run_id),
      el("p", {}, statusCell(run.status), "  experiment ", run.experiment, run.sweep_id ? el("span", {}, "  sweep ", sweepLink(run.sweep_id), "  trial ", run.trial_id) : null, "  created ", run.created_at, run.finished_at ? "  finished " + run.finished_at : ""),
      run.note ? el("p", { class: "muted" }, "note: ", run.note) : null,
      section("Re-run", el("pre", { id: "rerun" }, run.rerun)),
      section("Metrics (last / min / max / values)", table(["metric", "last", "min", "max", "values"], summary)),
      pcSection,
      section("Curves", charts),
      section("Params", kv(run.params)),
      section("Context", kv(run.context)),
      section("Artifacts", arts.length ? arts : el("p", { class: "muted" }, "none")));
    await shown();
    const bars = pc ? pc.scores.filter((k) => k !== "support") : [];
    const drawBars = () => bars.length && plot(pcBars, bars.map((k) => ({ type: "bar", name: esc(k), x: pc.classes.map(esc), y: pc.classes.map((c) => pc.rows[c][k]) })), layout("by class", { barmode: "group", yaxis: { range: [0, 1] } }));
    const divs = {};
    let version = null;
    async function refresh() {
      const first = pending;
      pending = null;
      const got = (first && (await first)) || (await get(curvesUrl + (version === null ? "" : "?version=" + version)));
      version = got.version;
      mark("curves");
      if (!got.curves) return;
      const todo = Object.entries(got.curves).filter(([name]) => !byClass.has(name)).map(([name, c]) => {
        if (!divs[name]) { divs[name] = el("div", { class: "chart", "data-metric": name }); charts.append(divs[name]); }
        const sampled = c.count > c.x.length ? ` (${c.x.length} of ${c.count} points, min/max per bucket)` : "";
        return { div: divs[name], title: name + sampled, trace: { x: c.x, y: c.y.map(num), mode: new Set(c.x).size > 1 ? "lines" : "markers" }, name };
      });
      if (sketching()) {
        for (const t of todo) SKETCH.lines(t.div, [t.trace], { title: t.title, xtitle: "step" });
        await firstDrawn();
      }
      for (const t of todo) await plot(t.div, [Object.assign(t.trace, { name: esc(t.name) })], layout(t.title, { xaxis: { title: { text: "step" } } }));
      document.body.dataset.version = String(version);
    }
    await refresh();
    await drawBars(); // after the curves: plotly.js waits for the first screen's sketches
    document.body.dataset.loaded = "1";
    setLive(!FINAL.includes(run.status));
    every(POLL_MS, refresh);
  }

  // ---- /compare?runs=a,b ----------------------------------------------------------------------
  function smooth(ys, alpha) {
    if (!alpha) return ys;
    let last = null;
    return ys.map((y) => (Number.isFinite(y) ? (last = last === null ? y : alpha * last + (1 - alpha) * y) : y));
  }
  async function comparePage() {
    const ids = (query.get("runs") || "").split(",").filter(Boolean);
    let info;
    try { info = await get("/api/compare?runs=" + ids.join(",")); } catch (e) { fill(app); fail(app, e); return; }
    const state = { alpha: 0, x: "step", group: "" };
    const curves = {};
    const charts = el("div", { class: "grid", id: "charts" });
    const alpha = el("input", { type: "range", min: 0, max: 0.99, step: 0.01, value: 0, name: "smoothing" });
    const alphaText = el("span", {}, "0");
    alpha.addEventListener("input", () => { state.alpha = Number(alpha.value); alphaText.textContent = alpha.value; draw(); });
    const xSel = el("select", { name: "x" }, el("option", { value: "step" }, "x: step"), el("option", { value: "time" }, "x: time (s)"));
    xSel.addEventListener("change", () => { state.x = xSel.value; draw(); });
    const params = Object.keys(info.runs.reduce((a, r) => Object.assign(a, r.params), {}));
    const gSel = el("select", { name: "group" }, el("option", { value: "" }, "no grouping"), params.map((p) => el("option", { value: p }, "group by " + p)));
    gSel.addEventListener("change", () => { state.group = gSel.value; draw(); });
    const legend = (r) => (info.differing.length ? info.differing.map((p) => `${p}=${fmt(r.params[p])}`).join(" ") : r.run_id);
    fill(app, el("h1", {}, `Compare ${info.runs.length} run(s)`),
      el("div", { class: "controls" }, "smoothing ", alpha, alphaText, xSel, gSel),
      section("Runs", table(["run", "status", ...info.differing], info.runs.map((r) => [runLink(r.run_id), statusCell(r.status), ...info.differing.map((p) => r.params[p])]))),
      REPORT && REPORT.answers.table ? section("All runs of the experiment", table(REPORT.answers.table.columns, REPORT.answers.table.rows)) : null,
      section("Curves", charts));
    const divs = {};
    function series(r, c) {
      const t0 = c.t.length ? c.t[0] : 0;
      return { x: state.x === "time" ? c.t.map((t) => t - t0) : c.x, y: smooth(c.y.map(num), state.alpha) };
    }
    function draw() {
      const metrics = [...new Set(info.runs.flatMap((r) => Object.keys(curves[r.run_id] || {})))];
      for (const m of metrics) {
        if (!divs[m]) { divs[m] = el("div", { class: "chart", "data-metric": m }); charts.append(divs[m]); }
        let traces = [];
        if (!state.group) {
          traces = info.runs.filter((r) => curves[r.run_id] && curves[r.run_id][m]).map((r) => Object.assign(series(r, curves[r.run_id][m]), { mode: "lines", name: esc(legend(r)) }));
        } else {
          const groups = {};
          for (const r of info.runs) if (curves[r.run_id] && curves[r.run_id][m]) (groups[fmt(r.params[state.group])] ||= []).push(series(r, curves[r.run_id][m]));
          Object.entries(groups).forEach(([g, list], i) => {
            const at = new Map();
            for (const s of list) s.x.forEach((x, j) => { if (Number.isFinite(s.y[j])) (at.get(x) || at.set(x, []).get(x)).push(s.y[j]); });
            const xs = [...at.keys()].sort((a, b) => a - b);
            const mean = xs.map((x) => at.get(x).reduce((a, b) => a + b, 0) / at.get(x).length);
            const std = xs.map((x, j) => Math.sqrt(at.get(x).reduce((a, b) => a + (b - mean[j]) ** 2, 0) / at.get(x).length));
            const color = `hsl(${(i * 67) % 360},65%,45%)`;
            const name = esc(`${state.group}=${g} (n=${list.length})`);
            traces.push({ x: xs, y: mean.map((m, j) => m - std[j]), mode: "lines", line: { width: 0, color }, showlegend: false, hoverinfo: "skip", legendgroup: name });
            traces.push({ x: xs, y: mean.map((m, j) => m + std[j]), mode: "lines", line: { width: 0, color }, fill: "tonexty", fillcolor: color.replace("hsl", "hsla").replace(")", ",0.2)"), showlegend: false, hoverinfo: "skip", legendgroup: name });
            traces.push({ x: xs, y: mean, mode: "lines", line: { color }, name: name + " mean ± std", legendgroup: name });
          });
        }
        plot(divs[m], traces, layout(m, { xaxis: { title: { text: state.x === "time" ? "seconds" : "step" } } }));
      }
    }
    const versions = {};
    async function refresh() {
      let changed = false;
      for (const r of info.runs) {
        const v = versions[r.run_id];
        const got = await get("/api/runs/" + encodeURIComponent(r.run_id) + "/curves" + (v === undefined ? "" : "?version=" + v));
        versions[r.run_id] = got.version;
        if (got.curves) { curves[r.run_id] = got.curves; changed = true; }
      }
      if (changed) draw();
    }
    await shown();
    await refresh();
    await plotlyReady();
    document.body.dataset.loaded = "1";
    every(2 * POLL_MS, refresh);
  }

  // ---- /sweeps/<id> -------------------------------------------------------------------------
  async function sweepPage() {
    const sweepId = decodeURIComponent(here.pathname.split("/")[2] || "");
    const base = "/api/sweeps/" + encodeURIComponent(sweepId);
    const head = el("div", {}), best = el("div", { class: "chart", id: "best" }), par = el("div", { class: "chart", id: "parcoords" });
    const imp = el("div", { id: "importance" }), slices = el("div", { class: "grid", id: "slices" }), stop = el("div", { class: "chart", id: "stopping" });
    const trials = el("div", { id: "trials" });
    fill(app, head, section("Best so far", best), section("Parallel coordinates", par), section("Parameter importance (fANOVA) and correlation", imp),
      section("Slice plots", slices), section("Early stopping: every trial's curve", stop), section("Trials", trials));
    let sweep = null, importanceKey = null, lastSweep = "";
    const sliceDivs = {};
    let drawnFirst = null;
    async function refreshSweep() {
      let got;
      try { got = await get(base); } catch (e) { head.replaceChildren(); fail(head, e); return; }
      const text = JSON.stringify(got);
      if (text === lastSweep) return; // unchanged: a 1,000-trial page is not redrawn every poll
      lastSweep = text;
      const s = (sweep = got);
      head.replaceChildren(el("h1", {}, "Sweep ", s.name || s.sweep_id), el("p", {}, statusCell(s.status), `  ${s.sweep_id}  method ${s.method}  metric ${s.metric} (${s.goal})  best `, el("b", { id: "best-value" }, fmt(s.best))),
        el("p", { id: "counts" }, Object.entries(s.counts).map(([k, v]) => el("span", { class: "badge status-" + k }, `${k} ${v}`))));
      const done = s.trials.filter((t) => t.status === "completed" && t.value !== null);
      // the data first (counts, the trials table), then the charts once plotly.js is there
      drawTrials();
      setLive(s.status === "running" && !REPORT); // (the controller's lock is not probed: taking it could refuse a --resume)
      await shown();
      const key = done.length + ":" + (done.length ? done[done.length - 1].trial_id : "");
      if (key !== importanceKey) { importanceKey = key; refreshImportance(); }
      const values = s.trials.map((t) => t.value);
      const dims = s.params.map((p) => {
        const vals = done.map((t) => t.params[p]);
        if (vals.every((v) => typeof v === "number")) return { label: p, values: vals };
        const cats = [...new Set(vals.map(fmt))].sort();
        return { label: p, values: vals.map((v) => cats.indexOf(fmt(v))), tickvals: cats.map((_, i) => i), ticktext: cats };
      });
      dims.push({ label: s.metric || "value", values: done.map((t) => t.value) });
      const parTitle = `${done.length} completed trial(s)`;
      par.dataset.lines = String(done.length);
      if (sketching()) { // the first screen: best so far and the parallel coordinates, on canvas
        SKETCH.lines(best, [{ x: values.map((_, i) => i + 1), y: values.map(num), mode: "markers" },
          { x: s.best_so_far.map((_, i) => i + 1), y: s.best_so_far.map(num), mode: "lines", hv: true, color: "#ff7f0e" }], { title: s.metric || "", xtitle: "trial" });
        if (done.length) SKETCH.parcoords(par, dims, done.map((t) => t.value), { title: parTitle, reverse: s.goal === "minimize", height: 380 });
        await firstDrawn();
      }
      const drawn = [plot(best, [{ x: s.trials.map((t, i) => i + 1), y: values, mode: "markers", name: "trial value", text: s.trials.map((t) => esc(t.trial_id)) },
        { x: s.best_so_far.map((_, i) => i + 1), y: s.best_so_far, mode: "lines", line: { shape: "hv" }, name: "best so far" }], layout(s.metric || "", { xaxis: { title: { text: "trial" } } })).then(() => mark("best"))];
      // Plotly parses tags in labels: its copy of the dimensions is escaped (the canvas draws text)
      const plotlyDims = dims.map((d) => Object.assign({}, d, { label: esc(d.label) }, d.ticktext ? { ticktext: d.ticktext.map(esc) } : {}));
      firstScreen = Promise.all(drawn.concat([new Promise((res) => { drawnFirst = res; })]));
      drawn.push(plot(par, [{ type: "parcoords", line: { color: done.map((t) => t.value), colorscale: "Viridis", showscale: true, reversescale: s.goal === "minimize" }, dimensions: plotlyDims }], layout(parTitle, { height: 380, margin: { l: 60, r: 60, t: 60, b: 30 } })).then(() => { mark("parcoords"); drawnFirst(); }));
      s.params.forEach((p) => {
        // one div per param for the page's life: once it has been on screen it redraws at once
        const d = sliceDivs[p] || (sliceDivs[p] = slices.appendChild(el("div", { class: "chart", "data-param": p })));
        drawn.push(lazy(d, () => plot(d, [{ x: done.map((t) => (typeof t.params[p] === "number" ? t.params[p] : fmt(t.params[p]))), y: done.map((t) => t.value), mode: "markers", text: done.map((t) => esc(t.trial_id)), marker: { color: done.map((_, i) => i), colorscale: "Blues" } }],
          layout(p, { xaxis: { title: { text: esc(p) } }, yaxis: { title: { text: esc(s.metric || "") } }, height: 280 }))));
      });
      await Promise.all(drawn);
      mark("charts");
      document.body.dataset.loaded = "1";
    }
    // the trials table a page of 100 at a time: laying out 1,000 rows takes the main thread 0.2 s here
    let trialsFrom = 0;
    function drawTrials() {
      const s = sweep, n = s.trials.length, per = 100;
      trialsFrom = Math.min(trialsFrom, Math.max(0, n - 1 - ((n - 1) % per)));
      const end = Math.min(trialsFrom + per, n);
      const go = (from) => () => { trialsFrom = from; drawTrials(); };
      trials.replaceChildren(el("div", { class: "controls" }, el("span", { id: "trial-count" }, `${n ? trialsFrom + 1 : 0}–${end} of ${n} trial(s)`),
        el("button", { disabled: trialsFrom === 0, onclick: go(Math.max(0, trialsFrom - per)) }, "previous"),
        el("button", { disabled: end >= n, onclick: go(trialsFrom + per) }, "next")),
      table(["trial", "run", "status", s.metric || "value", ...s.params, "note"], s.trials.slice(trialsFrom, end).map((t) => [t.trial_id, runLink(t.run_id), statusCell(t.status), t.value, ...s.params.map((p) => t.params[p]), t.note || ""])));
    }
    async function refreshImportance() {
      let got;
      try { got = await get(base + "/importance"); } catch (e) { imp.replaceChildren(); fail(imp, e); return; }
      const names = Object.keys(got.fanova);
      if (!names.length) { imp.replaceChildren(el("p", { class: "muted" }, `needs at least 2 completed trials with differing params (${got.trials} so far)`)); return; }
      const rows = names.map((n) => [n, got.fanova[n], got.correlation[n] === null || got.correlation[n] === undefined ? "" : got.correlation[n]]);
      const bar = el("div", {});
      imp.replaceChildren(table(["param", "importance (fANOVA)", "correlation"], rows), bar);
      imp.dataset.first = names[0];
      await lazy(bar, () => plot(bar, [{ type: "bar", orientation: "h", x: names.map((n) => got.fanova[n]).reverse(), y: names.map(esc).reverse() }], layout(`over ${got.trials} completed trial(s)`, { height: 60 + 30 * names.length, margin: { l: 160, r: 20, t: 40, b: 30 } })));
    }
    let curvesVersion = null;
    async function refreshCurves() {
      const got = await get(base + "/curves" + (curvesVersion === null ? "" : "?version=" + encodeURIComponent(curvesVersion)));
      curvesVersion = got.version;
      if (!got.curves || !sweep) return;
      const colors = { completed: "#1f77b4", pruned: "#d62728", running: "#2ca02c" };
      const status = Object.fromEntries(sweep.trials.map((t) => [t.trial_id, t.status]));
      // one trace per status, trials separated by a gap: 1,000 SVG traces take Plotly seconds
      const groups = {}, stopped = { x: [], y: [], text: [] };
      let top = 1;
      for (const [tid, c] of Object.entries(got.curves)) {
        const st = status[tid] || c.status;
        const g = (groups[st] ||= { x: [], y: [], text: [], customdata: [] });
        const y = c.y.map(num);
        c.x.forEach((step, i) => { g.x.push(i + 1); g.y.push(y[i]); g.text.push(tid); g.customdata.push(step); }); // the n-th value is iteration n, as hyperband counts
        g.x.push(null); g.y.push(null); g.text.push(""); g.customdata.push(null);
        top = Math.max(top, c.x.length);
        if (st === "pruned" && c.x.length) { stopped.x.push(c.x.length); stopped.y.push(y[y.length - 1]); stopped.text.push(`${tid} stopped at iteration ${c.x.length}`); }
      }
      const traces = Object.entries(groups).map(([st, g]) => ({ x: g.x, y: g.y, text: g.text.map(esc), customdata: g.customdata, mode: "lines", connectgaps: false, name: esc(st), line: { color: colors[st] || "#7f7f7f", width: 1 }, hovertemplate: "%{text} step %{customdata}: %{y}<extra>" + esc(st) + "</extra>" }));
      if (stopped.x.length) traces.push({ x: stopped.x, y: stopped.y, text: stopped.text.map(esc), mode: "markers", marker: { symbol: "x", size: 9, color: colors.pruned }, name: "stopped", hovertemplate: "%{text}<extra></extra>" });
      const bands = (sweep.stopping && sweep.stopping.bands || []).filter((b) => b <= top * 1.5);
      const shapes = bands.map((b) => ({ type: "line", x0: b, x1: b, yref: "paper", y0: 0, y1: 1, line: { dash: "dot", color: "#b35900" } }));
      const notes = bands.map((b) => ({ x: b, yref: "paper", y: 1.02, text: "band " + b, showarrow: false, font: { size: 10, color: "#b35900" } }));
      const drawStop = () => plot(stop, traces, layout(`${sweep.metric} by iteration; ${sweep.stopping ? sweep.stopping.type + " bands dotted, pruned trials end in ×" : "no early stopping"}`, { shapes, annotations: notes, height: 380, xaxis: { title: { text: "iteration (n-th value)" } } }))
        .then(() => { stop.dataset.traces = String(Object.keys(got.curves).length); });
      await lazy(stop, drawStop);
      document.body.dataset.curves = curvesVersion;
    }
    await refreshSweep();
    await refreshCurves();
    every(POLL_MS, refreshCurves);
    every(2 * POLL_MS, refreshSweep);
  }

  const pages = { runs: runsPage, run: runPage, compare: comparePage, sweep: sweepPage };
  const where = document.getElementById("where");
  if (REPORT) where.textContent = "report (offline)";
  (pages[document.body.dataset.page] || runsPage)().catch((e) => fail(app, e));
})();
