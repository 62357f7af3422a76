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
      var links = option._links; delete option._links;
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      if (links) {  // drill: a click on a bar opens its link
        chart.on("click", function (p) { if (links[p.dataIndex]) { window.location.href = links[p.dataIndex]; } });
      }
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
  // tables with class "sortable": a click on a header sorts by that column (numbers as numbers,
  // "1,234", "12.5%" included; empty cells last), a second click reverses
  function cellValue(td) {
    var text = (td ? td.textContent : "").trim();
    var n = text.replace(/[,%\s]/g, "");
    return n !== "" && !isNaN(n) ? { num: true, v: parseFloat(n) } : { num: false, v: text };
  }
  document.addEventListener("click", function (ev) {
    var th = ev.target.closest ? ev.target.closest("table.sortable thead th") : null;
    if (!th) { return; }
    var table = th.closest("table"), body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var desc = th.getAttribute("aria-sort") !== "descending";
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", desc ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a.cells[col]), y = cellValue(b.cells[col]);
      if (x.v === "" || y.v === "") { return x.v === "" ? (y.v === "" ? 0 : 1) : -1; }
      var c = x.num && y.num ? x.v - y.v : String(x.v).localeCompare(String(y.v), document.documentElement.lang);
      return desc ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (ev) { draw(ev.target); });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
