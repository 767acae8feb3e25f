// exptrack ui: a run's page (/runs/<id>): params, context, artifacts, per-class metrics, live curves.
(function () {
  "use strict";
  const { REPORT, here, app, POLL_MS, FINAL, mark, get, el, esc, num, link, sweepLink, statusCell, fail, fill, section, setLive, every, layout, shown, table, kv, plot, SKETCH, sketching, firstDrawn } = window.exptrackUI;

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

  window.exptrackUI.pages.run = runPage;
})();
