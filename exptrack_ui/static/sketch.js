// exptrack ui: the first screen's charts drawn on a 2D canvas while plotly.js loads.
// plotly.min.js is 4.6 MB: evaluating it takes the main thread about a second on a slow machine,
// and its parallel coordinates draw through WebGL (seconds in software). A sketch is the same
// data drawn plainly in a few milliseconds; app.js replaces it with the interactive Plotly chart
// once plotly.js is there. Text goes through fillText, never the DOM, so it is never parsed.
(function () {
  "use strict";
  const PAD = { l: 50, r: 20, t: 40, b: 40 }; // as app.js's Plotly layout, so the swap does not jump
  const FONT = "12px system-ui, sans-serif";
  // Viridis at five stops, interpolated: the colour scale the Plotly chart uses
  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

  function viridis(f) {
    const x = Math.min(1, Math.max(0, f)) * (VIRIDIS.length - 1), i = Math.min(VIRIDIS.length - 2, Math.floor(x)), k = x - i;
    const c = VIRIDIS[i].map((a, j) => Math.round(a + (VIRIDIS[i + 1][j] - a) * k));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }
  const finite = (v) => typeof v === "number" && Number.isFinite(v);
  function extent(values) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) if (finite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (lo > hi) return [0, 1];
    return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
  }
  const label = (v) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(1) : String(Number(v.toPrecision(3))));

  // a canvas the size of the div (its CSS height given), scaled for the screen's pixel ratio
  function canvas(div, height) {
    for (const old of div.querySelectorAll("canvas.sketch")) old.remove();
    const width = Math.max(200, div.clientWidth || 600), ratio = window.devicePixelRatio || 1;
    const c = document.createElement("canvas");
    c.className = "sketch";
    c.width = Math.round(width * ratio); c.height = Math.round(height * ratio);
    c.style.width = width + "px"; c.style.height = height + "px";
    div.append(c);
    const g = c.getContext("2d");
    g.scale(ratio, ratio);
    g.font = FONT; g.fillStyle = "#444"; g.strokeStyle = "#ccc";
    return { c, g, width, height };
  }
  function title(g, text, width) {
    g.save(); g.font = "14px system-ui, sans-serif"; g.textAlign = "center"; g.fillStyle = "#222";
    g.fillText(text, width / 2, 22, width - 20); g.restore();
  }

  // traces: [{x: numbers, y: numbers (NaN/null break the line), mode: "lines"|"markers", color, hv}]
  function lines(div, traces, opts) {
    const { c, g, width, height } = canvas(div, opts.height || 320);
    const xr = extent(traces.flatMap((t) => t.x)), yr = extent(traces.flatMap((t) => t.y));
    const w = width - PAD.l - PAD.r, h = height - PAD.t - PAD.b;
    const sx = (x) => PAD.l + ((x - xr[0]) / (xr[1] - xr[0])) * w, sy = (y) => PAD.t + (1 - (y - yr[0]) / (yr[1] - yr[0])) * h;
    title(g, opts.title || "", width);
    g.textAlign = "right";
    for (let i = 0; i <= 4; i++) { // five gridlines with their values
      const v = yr[0] + ((yr[1] - yr[0]) * i) / 4, y = sy(v);
      g.beginPath(); g.moveTo(PAD.l, y); g.lineTo(PAD.l + w, y); g.stroke();
      g.fillText(label(v), PAD.l - 4, y + 4);
    }
    g.textAlign = "center";
    for (let i = 0; i <= 4; i++) { const v = xr[0] + ((xr[1] - xr[0]) * i) / 4; g.fillText(label(v), sx(v), PAD.t + h + 16); }
    if (opts.xtitle) g.fillText(opts.xtitle, PAD.l + w / 2, height - 6);
    for (const t of traces) {
      g.strokeStyle = g.fillStyle = t.color || "#1f77b4";
      g.lineWidth = 1.5;
      if (t.mode === "markers") {
        t.x.forEach((x, i) => { if (finite(x) && finite(t.y[i])) g.fillRect(sx(x) - 2, sy(t.y[i]) - 2, 4, 4); });
        continue;
      }
      g.beginPath();
      let pen = false, lastY = 0;
      t.x.forEach((x, i) => {
        const y = t.y[i];
        if (!finite(x) || !finite(y)) { pen = false; return; }
        if (!pen) g.moveTo(sx(x), sy(y));
        else { if (t.hv) g.lineTo(sx(x), lastY); g.lineTo(sx(x), sy(y)); }
        pen = true; lastY = sy(y);
      });
      g.stroke();
    }
    return c;
  }

  // dims: [{label, values, ticktext?}] (categories as their index), color: the values colouring each line
  function parcoords(div, dims, color, opts) {
    const height = opts.height || 380, { c, g, width } = canvas(div, height);
    const left = 60, right = 90, top = 70, bottom = 30, n = dims.length;
    const xs = dims.map((_, i) => left + (n > 1 ? (i * (width - left - right)) / (n - 1) : 0));
    const h = height - top - bottom;
    const ranges = dims.map((d) => extent(d.values));
    const cr = extent(color);
    title(g, opts.title || "", width);
    g.globalAlpha = 0.5; g.lineWidth = 1;
    const lines = color.length;
    for (let k = 0; k < lines; k++) {
      const f = (color[k] - cr[0]) / (cr[1] - cr[0]);
      g.strokeStyle = viridis(opts.reverse ? 1 - f : f);
      g.beginPath();
      dims.forEach((d, i) => {
        const r = ranges[i], y = top + (1 - (d.values[k] - r[0]) / (r[1] - r[0])) * h;
        if (i === 0) g.moveTo(xs[i], y); else g.lineTo(xs[i], y);
      });
      g.stroke();
    }
    g.globalAlpha = 1; g.strokeStyle = "#444"; g.fillStyle = "#222"; g.textAlign = "center";
    dims.forEach((d, i) => {
      g.beginPath(); g.moveTo(xs[i], top); g.lineTo(xs[i], top + h); g.stroke();
      g.fillText(d.label, xs[i], top - 22, 140);
      if (d.ticktext) d.ticktext.forEach((t, j) => g.fillText(t, xs[i] + 4, top + (1 - (j - ranges[i][0]) / (ranges[i][1] - ranges[i][0])) * h + 4, 80));
      else { g.fillText(label(ranges[i][1]), xs[i], top - 6); g.fillText(label(ranges[i][0]), xs[i], top + h + 14); }
    });
    for (let j = 0; j < h; j += 2) { // the colour bar, as Plotly's showscale
      const f = 1 - j / h;
      g.fillStyle = viridis(opts.reverse ? 1 - f : f); g.fillRect(width - 40, top + j, 12, 2);
    }
    g.fillStyle = "#444"; g.textAlign = "left";
    g.fillText(label(cr[1]), width - 26, top + 8); g.fillText(label(cr[0]), width - 26, top + h);
    c.dataset.lines = String(lines);
    return c;
  }

  window.exptrackSketch = { lines, parcoords };
})();
