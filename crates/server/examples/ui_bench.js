// ui_bench runs this in every new document of the UI before the page's own scripts (through the
// DevTools protocol, so the page needs no hooks of its own). It keeps its records in
// window.driftlessBench for the benchmark to read.
(() => {
  if (!location.pathname.startsWith("/ui/")) return;
  const bench = { longTasks: [], lcp: null, rowsAt: null, rowsPaintedAt: null, revisions: {}, inputs: [],
    probing: false, streamFrom: null, writingFrom: Infinity, handlers: [], frames: [] };
  window.driftlessBench = bench;

  // How long the page's handler of each stream event runs (parsing it and changing the row).
  const onmessage = Object.getOwnPropertyDescriptor(EventSource.prototype, "onmessage");
  Object.defineProperty(EventSource.prototype, "onmessage", {
    configurable: true,
    get: onmessage.get,
    set(handler) {
      onmessage.set.call(this, function timed(event) {
        const start = performance.now();
        try {
          return handler.call(this, event);
        } finally {
          if (bench.probing) bench.handlers.push(performance.now() - start);
        }
      });
    },
  });
  // Frames over 50 ms, with the part of each that scripts ran (the rest is rendering, or the
  // renderer waiting for the CPU).
  new PerformanceObserver((list) => {
    for (const frame of list.getEntries()) {
      const scripts = frame.scripts.reduce((sum, s) => sum + s.duration, 0);
      bench.frames.push([frame.startTime, frame.duration, scripts]);
    }
  }).observe({ type: "long-animation-frame", buffered: true });
  new PerformanceObserver((list) => {
    for (const task of list.getEntries()) bench.longTasks.push([task.startTime, task.duration]);
  }).observe({ type: "longtask", buffered: true });
  new PerformanceObserver((list) => {
    for (const paint of list.getEntries()) bench.lcp = paint.startTime;
  }).observe({ type: "largest-contentful-paint", buffered: true });

  // A message posted from an animation frame callback is handled once that frame is painted.
  const afterNextPaint = (done) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => done(performance.now());
    channel.port2.postMessage(null);
  });

  // When the first rows are in the DOM (and painted), and when each revision shown in a row's
  // revision cell first appeared there (epoch ms, to compare with when it was written).
  new MutationObserver((records) => {
    const now = Date.now();
    if (bench.rowsAt === null && document.querySelector("#apps tr[data-app]")) {
      bench.rowsAt = performance.now();
      afterNextPaint((at) => { bench.rowsPaintedAt = at; });
    }
    for (const record of records) {
      const cell = record.target;
      if (!cell.dataset || cell.dataset.field !== "revision") continue;
      const code = cell.querySelector("code");
      if (code && !(code.title in bench.revisions)) bench.revisions[code.title] = now;
    }
  }).observe(document, { childList: true, subtree: true });

  // A click at random moments, timed from when it was due to the next animation frame: what a
  // user's click waits while the page is busy with the stream.
  bench.startProbing = () => {
    bench.probing = true;
    bench.streamFrom = performance.now();
    const target = document.getElementById("apps-caption") || document.body;
    const probe = () => {
      if (!bench.probing) return;
      const wait = 50 + Math.random() * 250;
      const due = performance.now() + wait;
      setTimeout(() => {
        target.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true }));
        requestAnimationFrame(() => {
          bench.inputs.push([due, performance.now() - due]);
          probe();
        });
      }, wait);
    };
    probe();
  };
})();
