// churnradar dashboard: draws every element with a data-chart attribute (an ECharts option in JSON).
(function () {
  "use strict";
  var charts = [];
  function draw(root) {
    if (typeof echarts === "undefined") { return; }
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      var option = JSON.parse(el.getAttribute("data-chart"));
      option.animation = false;  // figures at once (and stable screenshots)
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      el.dataset.drawn = "1";
      charts.push(chart);
    });
  }
  // the language toggle returns to the page as it is now, filters included (htmx may have pushed
  // a new URL since the page was rendered)
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest ? ev.target.closest("#lang-toggle") : null;
    if (!a) { return; }
    var url = new URL(a.href, window.location.href);
    url.searchParams.set("next", window.location.pathname + window.location.search);
    a.href = url.pathname + url.search;
  });
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (ev) { draw(ev.target); });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
