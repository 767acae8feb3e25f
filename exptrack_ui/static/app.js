// exptrack ui: the pages' common toolkit (fetching the JSON API, building the DOM, tables, the
// timing marks) and the dispatch to the page's module (runs.js, run.js, compare.js, sweep.js;
// charts.js for the pages with charts). Every page is built with DOM nodes and textContent only,
// never innerHTML, so a run name or metric like <img src=x onerror=...> is shown as text. Plotly
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

  // each page's module adds itself here; the page runs once every deferred script has (a
  // report's inline scripts run before DOMContentLoaded too)
  const pages = {};
  window.exptrackUI = { pages, REPORT, here, query, app, POLL_MS, FINAL, mark, get, el, esc, fmt, num, link, runLink, sweepLink, statusCell, fail, fill, section, setLive, every, layout, painted, shown, table, kv };
  document.addEventListener("DOMContentLoaded", () => {
    if (REPORT) document.getElementById("where").textContent = "report (offline)";
    (pages[document.body.dataset.page] || pages.runs)().catch((e) => fail(app, e));
  });
})();
