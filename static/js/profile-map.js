/* profile-map.js: the profile editor's draggable pin and its latitude/longitude inputs kept in
   step. The folium marker is a global whose name the server puts in data-marker. */
(function () {
  "use strict";
  var me = document.currentScript;
  var marker = me && window[me.getAttribute("data-marker")];
  var lat = document.getElementById("f-lat"), lon = document.getElementById("f-lon");
  if (!marker || !lat || !lon) { return; }
  // Without street tiles (PINMAP_TILES), the embedded basemap shows provinces, not streets: at
  // the server's street zoom the pin would sit on a blank province. Zoom out far enough to see
  // the province and its name around the pin; the editor zooms in to place it finely.
  var map = marker._map, tiled = false;
  if (map) {
    map.eachLayer(function (l) { if (l instanceof L.TileLayer) tiled = true; });
    if (!tiled && map.getZoom() > 9) map.setView(marker.getLatLng(), 9, { animate: false });
  }
  marker.on("dragend", function () {
    var p = marker.getLatLng();
    lat.value = p.lat.toFixed(6);
    lon.value = p.lng.toFixed(6);
  });
  function fromInputs() {
    var la = parseFloat(lat.value), lo = parseFloat(lon.value);
    if (isFinite(la) && isFinite(lo)) { marker.setLatLng([la, lo]); }
  }
  lat.addEventListener("change", fromInputs);
  lon.addEventListener("change", fromInputs);
})();
