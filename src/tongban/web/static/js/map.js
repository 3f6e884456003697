// Maps on a tile layer (only where TONGBAN_MAP_TILE_URL is configured; Leaflet from npm):
// [data-tile-map] draws the points of a chart's JSON block (the dispatcher console), and
// [data-map-picker] lets a requester pick the pickup point, filling #lat and #lng.
// Names go in as text nodes, never as HTML.
(function () {
  "use strict";
  var COLOURS = ["#5470c6", "#91cc75", "#9aa0a6", "#fc8452", "#3ba272"];

  function escapeText(text) {
    var span = document.createElement("span");
    span.textContent = text || "";
    return span.innerHTML;
  }

  function baseMap(el) {
    var map = L.map(el, {scrollWheelZoom: false});
    map.attributionControl.setPrefix(false);  // the tile provider's attribution only
    L.tileLayer(el.getAttribute("data-tiles"), {
      attribution: escapeText(el.getAttribute("data-attribution")),
      subdomains: "01234567", maxZoom: 18
    }).addTo(map);
    return map;
  }

  function label(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span;
  }

  function initTileMaps() {
    document.querySelectorAll("[data-tile-map]").forEach(function (el) {
      var block = document.getElementById(el.getAttribute("data-tile-map"));
      if (!block || !window.L) { return; }
      var option = JSON.parse(block.textContent);
      var map = baseMap(el);
      var bounds = [];
      (option.series || []).forEach(function (series, index) {
        (series.data || []).forEach(function (point) {
          var at = [point.value[1], point.value[0]];
          bounds.push(at);
          L.circleMarker(at, {radius: index === 0 ? 9 : 6, color: COLOURS[index % COLOURS.length],
                              fillOpacity: 0.8, weight: 1})
            .bindTooltip(label(series.name + "：" + point.name)).addTo(map);
        });
      });
      if (bounds.length) { map.fitBounds(bounds, {padding: [24, 24]}); } else { map.setView([31.87, 106.75], 9); }
    });
  }

  function initPicker() {
    var el = document.querySelector("[data-map-picker]");
    if (!el || !window.L) { return; }
    var lat = document.getElementById("lat");
    var lng = document.getElementById("lng");
    var centre = el.getAttribute("data-centre").split(",").map(Number);
    var map = baseMap(el);
    var marker = null;
    function place(at) {
      if (marker) { marker.setLatLng(at); } else { marker = L.circleMarker(at, {radius: 9}).addTo(map); }
    }
    function fromInputs() {
      var a = parseFloat(lat.value), b = parseFloat(lng.value);
      if (isFinite(a) && isFinite(b)) { place([a, b]); map.setView([a, b], Math.max(map.getZoom(), 15)); }
    }
    map.setView(centre, 12);
    fromInputs();
    map.on("click", function (event) {
      lat.value = event.latlng.lat.toFixed(6);
      lng.value = event.latlng.lng.toFixed(6);
      place(event.latlng);
    });
    lat.addEventListener("change", fromInputs);
    lng.addEventListener("change", fromInputs);
    document.addEventListener("tongban:located", fromInputs);
  }

  document.addEventListener("DOMContentLoaded", function () { initTileMaps(); initPicker(); });
})();
