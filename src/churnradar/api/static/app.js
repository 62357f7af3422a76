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
  // a KPI card's info button: a click or tap keeps the card's 口径 open (hover and focus show it
  // through CSS), a second click or Escape closes it
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest(".kpi button.info") : null;
    document.querySelectorAll(".kpi.open").forEach(function (k) {
      if (!b || k !== b.closest(".kpi")) { k.classList.remove("open"); k.querySelector("button.info").setAttribute("aria-expanded", "false"); }
    });
    if (!b) { return; }
    b.closest(".kpi").classList.remove("dismissed");
    var open = b.closest(".kpi").classList.toggle("open");
    b.setAttribute("aria-expanded", open ? "true" : "false");
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") { return; }
    document.querySelectorAll(".kpi").forEach(function (k) {
      if (!k.querySelector("button.info")) { return; }
      k.classList.remove("open");
      k.classList.add("dismissed");  // hidden even while hovered or focused, until the next visit
      k.querySelector("button.info").setAttribute("aria-expanded", "false");
    });
  });
  ["mouseleave", "focusout"].forEach(function (type) {
    document.addEventListener(type, function (ev) {
      if (ev.target.classList && ev.target.classList.contains("kpi")) { ev.target.classList.remove("dismissed"); }
      if (ev.target.matches && ev.target.matches(".kpi button.info")) { ev.target.closest(".kpi").classList.remove("dismissed"); }
    }, true);
  });
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (ev) { draw(ev.target); });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
// the filter bar: choosing a county narrows the grid list to its grids (a grid of another county
// is cleared)
(function () {
  "use strict";
  function narrow(form) {
    var county = form.querySelector("select[name=county]"), grid = form.querySelector("select[name=grid]");
    if (!county || !grid) { return; }
    Array.prototype.forEach.call(grid.options, function (o) {
      var other = !!county.value && !!o.dataset.county && o.dataset.county !== county.value;
      o.hidden = other; o.disabled = other;
      if (other && o.selected) { grid.value = ""; }
    });
  }
  document.addEventListener("change", function (ev) {
    if (ev.target.matches && ev.target.matches(".filter-bar select[name=county]")) { narrow(ev.target.form); }
  });
  // a filter left at 全部 stays out of the URL (a page's form and the risk list's htmx request)
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches(".filter-bar") || form.hasAttribute("hx-get")) { return; }
    var emptied = Array.prototype.filter.call(form.elements, function (el) { return el.name && el.value === "" && !el.disabled; });
    emptied.forEach(function (el) { el.disabled = true; });
    setTimeout(function () { emptied.forEach(function (el) { el.disabled = false; }); }, 0);
  });
  document.addEventListener("htmx:configRequest", function (ev) {
    var fd = ev.detail.formData;
    if (!ev.target.closest || !ev.target.closest(".filter-bar") || !fd || !fd.forEach) { return; }
    var empty = [];
    fd.forEach(function (v, k) { if (v === "") { empty.push(k); } });
    empty.forEach(function (k) { fd.delete(k); });
  });
  // a table sorted by a click on its header keeps the order in the URL (sort=key or -key), and a
  // page opened with one sorts its table so
  document.addEventListener("click", function (ev) {
    var th = ev.target.closest ? ev.target.closest("table.sortable thead th[data-key]") : null;
    if (!th) { return; }
    var url = new URL(window.location.href);
    url.searchParams.set("sort", (th.getAttribute("aria-sort") === "descending" ? "-" : "") + th.dataset.key);
    window.history.replaceState(window.history.state, "", url.pathname + url.search);
  });
  document.addEventListener("DOMContentLoaded", function () {
    var sort = new URL(window.location.href).searchParams.get("sort");
    if (!sort) { return; }
    var key = sort.replace(/^-/, "");
    var th = document.querySelector('table.sortable thead th[data-key="' + key.replace(/[^\w-]/g, "") + '"]');
    if (!th) { return; }
    th.click();  // descending first
    if (sort.charAt(0) !== "-") { th.click(); }
  });
})();
