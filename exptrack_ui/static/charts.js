// exptrack ui: charts. plotly.js is loaded when the first screen is drawn, sketch.js draws that
// first screen on canvas before it, and charts below the fold are drawn when scrolled near.
(function () {
  "use strict";
  const { REPORT, mark, el, painted } = window.exptrackUI;

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
  const setFirstScreen = (p) => { firstScreen = p; };
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

  Object.assign(window.exptrackUI, { plotlyReady, plot, SKETCH, sketching, firstDrawn, lazy, setFirstScreen });
})();
