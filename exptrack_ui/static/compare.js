// exptrack ui: the compare page (/compare?runs=a,b): overlaid curves, smoothing, seed groups with mean ± std.
(function () {
  "use strict";
  const { REPORT, query, app, POLL_MS, get, el, esc, fmt, num, runLink, statusCell, fail, fill, section, every, layout, shown, table, plotlyReady, plot } = window.exptrackUI;

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

  window.exptrackUI.pages.compare = comparePage;
})();
