/* harness run report: draws the charts of #report-data with uPlot (inlined before this). */
(function () {
  "use strict";
  var t0 = performance.now();
  var palette = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#1b7c83",
                 "#e16f24", "#6e7781", "#d63384", "#0a3069"];
  var spec = JSON.parse(document.getElementById("report-data").textContent);
  var plots = [];

  function options(c, width) {
    var series = [{ label: c.x_kind === "time" ? "time (UTC)" : (c.x_label || "x") }];
    var right = false;
    c.series.forEach(function (s, i) {
      var color = palette[i % palette.length];
      var o = { label: s.label, stroke: color, width: 1.5, spanGaps: true,
                scale: s.axis === "right" ? "y2" : "y" };
      if (s.axis === "right") { right = true; }
      if (s.kind === "points") {
        o.paths = function () { return null; };
        o.points = { show: true, size: 7, stroke: color, fill: color };
        o.spanGaps = false;
      } else if (s.kind === "step") {
        o.paths = uPlot.paths.stepped({ align: 1 });
        o.points = { show: false };
      } else {
        o.points = { show: false };
      }
      series.push(o);
    });
    var axes = [{}, { scale: "y", label: c.y_label || undefined, size: 70 }];
    if (right) { axes.push({ scale: "y2", side: 1, grid: { show: false }, size: 60 }); }
    return {
      width: width, height: c.height, series: series, axes: axes,
      scales: { x: { time: c.x_kind === "time" } },
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      cursor: c.sync ? { sync: { key: c.sync } } : {},
      legend: { live: true }
    };
  }

  spec.charts.forEach(function (c, i) {
    var box = document.getElementById("chart-" + i);
    if (!box) { return; }
    try {
      var width = Math.max(box.clientWidth, 320);
      plots.push(new uPlot(options(c, width), c.data, box));
      box.dataset.rendered = "1";
    } catch (err) {
      box.textContent = "chart could not be drawn: " + err;
      console.error("chart " + i + " (" + c.title + "): " + err);
    }
  });

  var timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      plots.forEach(function (u) {
        var width = Math.max(u.root.parentNode.clientWidth, 320);
        u.setSize({ width: width, height: u.height });
      });
    }, 100);
  });
  window.harnessReport = { plots: plots, charts: spec.charts.length,
                           renderMs: performance.now() - t0 };
  document.body.dataset.chartsReady = String(plots.length);
})();
