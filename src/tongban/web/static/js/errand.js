// 跑团代办: the request page fills its pickup point from the browser's position
// ([data-locate]); the runner page pings the runner's position ([data-position-ping]); the
// tracking page's 委托书 is signed on a canvas ([data-signature-form]) posted as a PNG data URL.
(function () {
  "use strict";

  function initLocate() {
    var button = document.querySelector("[data-locate]");
    if (!button) { return; }
    var status = document.querySelector("[data-locate-status]");
    button.addEventListener("click", function (event) {
      event.preventDefault();
      if (!navigator.geolocation) { status.textContent = "此浏览器不能定位，请填写地址和经纬度"; return; }
      status.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.getElementById("lat").value = pos.coords.latitude.toFixed(6);
        document.getElementById("lng").value = pos.coords.longitude.toFixed(6);
        status.textContent = "已获取当前位置";
        document.dispatchEvent(new CustomEvent("tongban:located"));
      }, function () {
        status.textContent = "未能定位，请填写地址和经纬度";
      }, {enableHighAccuracy: true, timeout: 10000});
    });
  }

  function initPing() {
    var el = document.querySelector("[data-position-ping]");
    if (!el || !navigator.geolocation) { return; }
    var meta = document.querySelector('meta[name="csrf-token"]');
    function send() {
      navigator.geolocation.getCurrentPosition(function (pos) {
        var body = new URLSearchParams();
        body.set("lat", pos.coords.latitude.toFixed(6));
        body.set("lng", pos.coords.longitude.toFixed(6));
        fetch(el.getAttribute("data-position-ping"), {
          method: "POST", body: body, credentials: "same-origin",
          headers: {"X-CSRF-Token": meta ? meta.content : ""}
        }).then(function (r) { el.textContent = r.ok ? "位置已更新" : "位置上报失败"; });
      }, function () { el.textContent = "未能获取位置"; });
    }
    send();
    window.setInterval(send, 60000);
  }

  // An offer's countdown; when it runs out, or when the runner's offers or pool change
  // (polled every 15 s), the page reloads — unless the runner is typing.
  function initPulse() {
    var busy = function () {
      var active = document.activeElement;
      return active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA");
    };
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var until = Date.parse(el.getAttribute("data-deadline"));
      function tick() {
        var left = Math.round((until - Date.now()) / 1000);
        if (left <= 0) { if (!busy()) { window.location.reload(); } return; }
        el.textContent = "在 " + left + " 秒内";
        window.setTimeout(tick, 1000);
      }
      tick();
    });
    var pulse = document.querySelector("[data-runner-pulse]");
    if (!pulse) { return; }
    window.setInterval(function () {
      fetch(pulse.getAttribute("data-runner-pulse"), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && data.pulse !== pulse.getAttribute("data-value") && !busy()) {
            window.location.reload();
          }
        });
    }, 15000);
  }

  function initSignature() {
    var form = document.querySelector("[data-signature-form]");
    if (!form) { return; }
    var canvas = form.querySelector("[data-signature-pad]");
    var value = form.querySelector("[data-signature-value]");
    var status = form.querySelector("[data-signature-status]");
    var ctx = canvas.getContext("2d");
    var drawing = false, drawn = false;
    ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.strokeStyle = "#111";
    function point(event) {
      var box = canvas.getBoundingClientRect();
      return {x: (event.clientX - box.left) * canvas.width / box.width,
              y: (event.clientY - box.top) * canvas.height / box.height};
    }
    canvas.addEventListener("pointerdown", function (event) {
      drawing = true; canvas.setPointerCapture(event.pointerId);
      var p = point(event); ctx.beginPath(); ctx.moveTo(p.x, p.y);
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      var p = point(event); ctx.lineTo(p.x, p.y); ctx.stroke(); drawn = true;
    });
    ["pointerup", "pointercancel"].forEach(function (name) {
      canvas.addEventListener(name, function () { drawing = false; });
    });
    form.querySelector("[data-signature-clear]").addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false; status.textContent = "";
    });
    form.addEventListener("submit", function (event) {
      if (!drawn) {
        if (form.hasAttribute("data-signature-optional")) { value.value = ""; return; }
        event.preventDefault(); status.textContent = "请先在框内签名"; return;
      }
      var url = canvas.toDataURL("image/png");
      var max = parseInt(canvas.getAttribute("data-signature-max") || "0", 10);
      if (max && (url.length - url.indexOf(",") - 1) * 3 / 4 > max) {
        event.preventDefault(); status.textContent = "签名过于复杂，请点“重写”后简单签名"; return;
      }
      value.value = url;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initLocate(); initPing(); initPulse(); initSignature();
  });
})();
