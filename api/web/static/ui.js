// The planner page's only script: a running job's live progress. It polls the job's progress twice a
// second, draws the incumbent value and the best bound over time, and opens the result when the job ends.
// Every page works without it; with it, nobody has to press reload.
(function () {
  "use strict";
  var job = document.getElementById("job");
  if (!job || job.dataset.terminal === "yes") return;
  var url = job.dataset.progress, samples = [], started = Date.now();

  function text(id, value) { var el = document.getElementById(id); if (el) el.textContent = value; }
  function number(x) { return x === null || x === undefined ? "–" : x.toLocaleString(undefined, {maximumFractionDigits: 1}); }

  function draw() {
    var points = samples.filter(function (s) { return s.objective !== null || s.bound !== null; });
    if (!points.length) return;
    var values = [];
    points.forEach(function (s) { if (s.objective !== null) values.push(s.objective); if (s.bound !== null) values.push(s.bound); });
    var low = Math.min.apply(null, values), high = Math.max.apply(null, values);
    if (high === low) { high += 1; low -= 1; }
    var last = Math.max(points[points.length - 1].t, 1);
    function x(t) { return (50 + t / last * 580).toFixed(1); }
    function y(v) { return (170 - (v - low) / (high - low) * 160).toFixed(1); }
    function line(key) {
      return points.filter(function (s) { return s[key] !== null; }).map(function (s) { return x(s.t) + "," + y(s[key]); }).join(" ");
    }
    document.getElementById("incumbent-line").setAttribute("points", line("objective"));
    document.getElementById("bound-line").setAttribute("points", line("bound"));
    text("y-high", number(high)); text("y-low", number(low)); text("x-high", last.toFixed(1) + " s");
  }

  function show(body) {
    var p = body.progress || {};
    text("job-status", body.status);
    text("job-stage", p.stage || "");
    var figures = [];
    if (p.objective !== null && p.objective !== undefined) figures.push("incumbent " + number(p.objective));
    if (p.bound !== null && p.bound !== undefined) figures.push("bound " + number(p.bound));
    if (p.total) figures.push(p.done + " of " + p.total + " done");
    text("job-figures", figures.join(", "));
    if (p.stage === "solving" || p.objective !== undefined) {
      samples.push({t: p.elapsed !== undefined ? p.elapsed : (Date.now() - started) / 1000,
                    objective: p.objective === undefined ? null : p.objective, bound: p.bound === undefined ? null : p.bound});
      draw();
    }
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error("the progress answered " + r.status); return r.json(); })
      .then(function (body) {
        show(body);
        if (body.terminal) {
          if (body.next) window.location.assign(body.next); else window.location.reload();
          return;
        }
        window.setTimeout(poll, 500);
      })
      .catch(function () { text("job-stage", "progress unavailable: reload the page"); window.setTimeout(poll, 3000); });
  }
  poll();
})();
