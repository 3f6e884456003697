// Tongban page behaviour: mobile navigation, ECharts containers, confirmation prompts, and the
// small behaviours that would otherwise be inline handlers (the CSP allows no inline script).
(function () {
  "use strict";

  function initNav() {
    var toggle = document.querySelector("[data-toggle-nav]");
    var nav = document.getElementById("mainnav");
    if (toggle && nav) {
      toggle.addEventListener("click", function () { nav.classList.toggle("open"); });
    }
    // The 管理 menu is a <details>: a click elsewhere folds it.
    document.addEventListener("click", function (event) {
      document.querySelectorAll("details.nav-menu[open]").forEach(function (menu) {
        if (!menu.contains(event.target)) { menu.open = false; }
      });
    });
  }

  // A container's data-chart names the <script type="application/json"> block that holds its
  // ECharts option (data never travels in an attribute).
  function initCharts(root) {
    if (typeof window.echarts === "undefined") { return; }
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.chartReady) { return; }
      var source = document.getElementById(el.dataset.chart);
      if (!source) { return; }
      var option = JSON.parse(source.textContent);
      if (el.dataset.height) { el.style.height = parseInt(el.dataset.height, 10) + "px"; }
      option.textStyle = option.textStyle || {
        fontFamily: "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"
      };
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      // A data item with a url drills down to the page behind it (e.g. a heatmap cell).
      chart.on("click", function (params) {
        if (params.data && params.data.url) { window.location.href = params.data.url; }
      });
      el.dataset.chartReady = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  function initConfirm() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  }

  // Tree expanders: htmx loads the children once; later clicks fold and unfold them.
  function initTree() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest(".tree .expander");
      if (!button || !button.dataset.loaded) { return; }
      var children = button.parentElement.querySelector(":scope > .children");
      children.hidden = !children.hidden;
      button.textContent = children.hidden ? "▸" : "▾";
    });
    document.addEventListener("htmx:afterSwap", function (event) {
      var target = event.target;
      if (target.classList && target.classList.contains("children")) {
        var button = target.parentElement.querySelector(":scope > .expander");
        if (button) { button.dataset.loaded = "1"; button.textContent = "▾"; }
      }
    });
  }

  // Every htmx request carries the session's CSRF token from the page's meta tag.
  function initCsrf() {
    document.addEventListener("htmx:configRequest", function (event) {
      var meta = document.querySelector('meta[name="csrf-token"]');
      if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
    });
  }

  // data-autosubmit on a select submits its form; data-print prints; data-back goes back;
  // data-fills="<textarea id>" on a select puts the chosen template into that textarea, to be
  // edited there (a text someone else will read never starts pre-filled).
  function initActions() {
    document.addEventListener("change", function (event) {
      var el = event.target;
      if (el.matches && el.matches("[data-autosubmit]") && el.form) { el.form.submit(); }
      if (el.matches && el.matches("[data-fills]") && el.value) {
        var box = document.getElementById(el.dataset.fills);
        if (box && (!box.value.trim() || window.confirm("用所选模板替换已填写的内容？"))) {
          box.value = el.value;
          box.focus();
        }
        el.value = "";
      }
    });
    document.addEventListener("click", function (event) {
      var el = event.target.closest ? event.target.closest("[data-print], [data-back]") : null;
      if (!el) { return; }
      event.preventDefault();
      if (el.hasAttribute("data-print")) { window.print(); } else { window.history.back(); }
    });
  }

  // On a phone each table.data row is a card (css/lists.css): a cell without a data-label
  // takes its column's header as its label.
  function initCardLabels(root) {
    (root || document).querySelectorAll("table.data").forEach(function (table) {
      var heads = table.querySelectorAll("thead th");
      if (!heads.length) { return; }
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, i) {
          var label = heads[i] ? heads[i].textContent.trim() : "";
          if (!cell.hasAttribute("data-label") && label && !cell.hasAttribute("colspan")) {
            cell.setAttribute("data-label", label);
          }
        });
      });
    });
  }

  initCsrf();
  document.addEventListener("DOMContentLoaded", function () {
    initNav();
    initActions();
    initTree();
    initCharts(document);
    initCardLabels(document);
    initConfirm();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    initCharts(event.target);
    initCardLabels(event.target);
  });
  window.tongban = { initCharts: initCharts };
})();
