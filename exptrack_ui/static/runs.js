// exptrack ui: the runs page (/): every run, filtered and sorted on the server, a page of 100 rows at a time.
(function () {
  "use strict";
  const { query, app, get, el, runLink, sweepLink, statusCell, fail, fill, section, shown, table } = window.exptrackUI;

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

  window.exptrackUI.pages.runs = runsPage;
})();
