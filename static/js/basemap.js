/* basemap.js: the map background every map draws with no tile server and no internet: sea,
   land further out, the neighbouring countries (muted), Thailand's 77 provinces and the names of
   both in the page language. Data: data/basemap/thailand.topo.json (Natural Earth, public
   domain), fetched once from a fingerprinted URL the browser keeps for a year.

   Panes: land and countries below Leaflet's tile pane (200), so PINMAP_TILES, when set, covers
   them; provinces above tiles (350) and below overlays (400: cluster regions); names above
   overlays (450) and below markers (600). Canvas renderers: a few hundred polygons repainted on
   every pan cost less as one canvas than as hundreds of SVG paths.

   PinBasemap.add(map, options) -- options: url, lang ("th" shows Thai names, anything else
   English), tiles (true when a tile layer is drawn above), provinces (a function returning a
   layer group to put the provinces in, e.g. the national map's toggleable "Provinces" layer;
   without it they go on the map). */
(function () {
  "use strict";

  var SEA = "#d5e5ef";
  var LAND = "#ebe9e1";
  var LABEL_MIN_ZOOM = 7;  // at 5 and 6, 77 names would cover the country
  var CHAR_PX = 6;  // rough width of a character at 12px (Thai marks above and below take none)

  var STYLE_ID = "pinmap-basemap-style";
  var CSS = [
    ".basemap-label{pointer-events:none}",
    ".basemap-label span{position:absolute;transform:translate(-50%,-50%);white-space:nowrap;",
    "font:12px/1.2 Sarabun,system-ui,sans-serif;color:#3f4a57;",
    "text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff}",
    ".basemap-label-country span{font-size:13px;color:#8a8677;letter-spacing:.08em}"
  ].join("");

  var loads = {};

  function load(url) {
    if (!loads[url]) {
      loads[url] = fetch(url).then(function (r) {
        if (!r.ok) throw new Error(url + " → HTTP " + r.status);
        return r.json();
      });
    }
    return loads[url];
  }

  function addStyle() {
    if (document.getElementById(STYLE_ID)) return;
    var style = document.createElement("style");
    style.id = STYLE_ID;
    style.textContent = CSS;
    document.head.appendChild(style);
  }

  function pane(map, name, z) {
    var p = map.getPane(name) || map.createPane(name);
    p.style.zIndex = String(z);
    return name;
  }

  function nameOf(props, lang) {
    return lang === "th" ? props.name_th : (props.name_en || props.name_th);
  }

  function label(props, lang, kind) {
    var span = document.createElement("span");
    span.textContent = nameOf(props, lang);  // text, never HTML
    return L.marker([props.label[1], props.label[0]], {
      icon: L.divIcon({ className: "basemap-label basemap-label-" + kind, html: span, iconSize: null }),
      interactive: false,
      keyboard: false,
      pane: "basemapLabels"
    });
  }

  function draw(map, topo, o) {
    var lang = o.lang || "th";
    pane(map, "basemapLand", 150);
    pane(map, "basemapProvinces", 350);
    pane(map, "basemapLabels", 450);
    map.getPane("basemapLabels").style.pointerEvents = "none";
    var below = L.canvas({ pane: "basemapLand", padding: 0.5 });
    var above = L.canvas({ pane: "basemapProvinces", padding: 0.5 });
    var obj = topo.objects;

    var background = L.layerGroup([
      L.geoJSON(topojson.feature(topo, obj.land), {
        renderer: below, interactive: false, style: { stroke: false, fillColor: LAND, fillOpacity: 1 }
      }),
      L.geoJSON(topojson.feature(topo, obj.countries), {
        renderer: below, interactive: false, style: { stroke: false, fillColor: LAND, fillOpacity: 1 }
      }),
      // Borders between two neighbours only: not the coast, not the edge of the data's box.
      L.geoJSON(topojson.mesh(topo, obj.countries, function (a, b) { return a !== b; }), {
        renderer: below, interactive: false, style: { color: "#b3ae9f", weight: 1, fill: false }
      })
    ]).addTo(map);

    var provinces = L.geoJSON(topojson.feature(topo, obj.provinces), {
      renderer: above,
      interactive: !!o.provinces,
      // Over tiles, outlines only; on our own background, Thailand stands out from its neighbours.
      style: { color: "#8d99a8", weight: 0.8, fillColor: "#fbfaf6", fillOpacity: o.tiles ? 0 : 1 },
      onEachFeature: o.provinces ? function (f, l) {
        var span = document.createElement("span");
        span.textContent = nameOf(f.properties, lang);
        l.bindTooltip(span, { sticky: true });
      } : null
    });
    // Thailand's land border, drawn once over both sides.
    var border = L.geoJSON(topojson.mesh(topo, {
      type: "GeometryCollection", geometries: obj.provinces.geometries.concat(obj.countries.geometries)
    }, function (a, b) { return a !== b && (!a.properties.code) !== (!b.properties.code); }), {
      renderer: above, interactive: false, style: { color: "#7d7866", weight: 1.6, fill: false }
    });

    var group = o.provinces ? o.provinces() : null;
    var target = group || map;
    // Imported (COD-AB) outlines replace ours: pinmap.js clears the group when they arrive
    // first or later; if they are already there, ours are not added.
    var replaced = group && group.getLayers().length > 0;
    if (!replaced) provinces.addTo(target);
    border.addTo(map);

    // A name shows once its province is wider on screen than the name (Bangkok's neighbours
    // get theirs a zoom or two after Chiang Mai), so names seldom overlap.
    var names = L.layerGroup().addTo(map);
    var entries = provinces.getLayers().map(function (l) {
      var b = l.getBounds(), props = l.feature.properties;
      return { marker: label(props, lang, "province"), span: b.getEast() - b.getWest(),
               px: nameOf(props, lang).length * CHAR_PX + 8 };
    });
    var countryNames = L.layerGroup(obj.countries.geometries.filter(function (g) {
      return g.properties.label;
    }).map(function (g) { return label(g.properties, lang, "country"); }));
    if (!o.tiles) countryNames.addTo(map);

    function showNames() {
      var zoom = map.getZoom(), on = zoom >= LABEL_MIN_ZOOM && (!group || map.hasLayer(group));
      var pxPerDegree = 256 * Math.pow(2, zoom) / 360;
      entries.forEach(function (e) {
        var fits = on && e.span * pxPerDegree > e.px;
        if (fits && !names.hasLayer(e.marker)) names.addLayer(e.marker);
        if (!fits && names.hasLayer(e.marker)) names.removeLayer(e.marker);
      });
    }
    map.on("zoomend", showNames);
    if (group) { group.on("add remove", function () { setTimeout(showNames, 0); }); }
    showNames();

    if (map.attributionControl) {
      map.attributionControl.addAttribution('<a href="https://www.naturalearthdata.com/">Natural Earth</a>');
    }
    var box = map.getContainer();
    box.setAttribute("data-basemap-provinces", String(replaced ? 0 : provinces.getLayers().length));
    box.setAttribute("data-basemap-countries", String(obj.countries.geometries.length));
    box.setAttribute("data-basemap-ready", "1");
    if (window.performance && performance.mark) performance.mark("pinmap:basemap-drawn");
    return { background: background, provinces: provinces, names: names, countryNames: countryNames };
  }

  // Resolves once the page has set `attr` on <html> and painted a frame since (at most a few
  // seconds later): a map whose pins matter most draws them first and its land just after,
  // instead of holding the pins' first frame for the ~100 ms the basemap takes to decode and draw.
  function afterPainted(attr) {
    if (!attr) return Promise.resolve();
    return new Promise(function (resolve) {
      var root = document.documentElement;
      var painted = function () { requestAnimationFrame(function () { setTimeout(resolve, 0); }); };
      if (root.hasAttribute(attr)) return painted();
      var watch = new MutationObserver(function () {
        if (root.hasAttribute(attr)) { watch.disconnect(); painted(); }
      });
      watch.observe(root, { attributes: true, attributeFilter: [attr] });
      setTimeout(function () { watch.disconnect(); resolve(); }, 3000);
    });
  }

  window.PinBasemap = {
    add: function (map, o) {
      addStyle();
      map.getContainer().style.background = o.tiles ? "" : SEA;
      return Promise.all([load(o.url), afterPainted(o.after)])
        .then(function (got) { return draw(map, got[0], o); })
        .catch(function (e) {
          console.warn("basemap:", e.message);
          map.getContainer().setAttribute("data-basemap-ready", "failed");
        });
    }
  };
})();
