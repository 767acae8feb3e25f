// exptrack ui: a sweep's page (/sweeps/<id>): best so far, parallel coordinates, importance, slices, early stopping, trials.
(function () {
  "use strict";
  const { REPORT, here, app, POLL_MS, mark, get, el, esc, fmt, num, runLink, statusCell, fail, fill, section, setLive, every, layout, shown, table, plot, SKETCH, sketching, firstDrawn, lazy, setFirstScreen } = window.exptrackUI;

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
      setFirstScreen(Promise.all(drawn.concat([new Promise((res) => { drawnFirst = res; })])));
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

  window.exptrackUI.pages.sweep = sweepPage;
})();
