/* pinmap.js: fills the folium-rendered map from the JSON API and runs filters and search.
   Every user-visible string from the data goes through textContent, never innerHTML. */
(function () {
  "use strict";

  var CLUSTER_COLOURS = [
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
    "#1f78b4", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6", "#6a3d9a", "#b15928", "#8dd3c7",
    "#bebada", "#80b1d3"
  ];

  // Pin and bubble colours by colour key; pinmap.css holds the same values for the pins.
  var PALETTE = {
    primary: "#1f6fb2", secondary: "#c0392b",
    "share-0": "#b8c0ca", "share-low": "#f2c14e", "share-high": "#7cc36b", "share-all": "#1b7a3a",
    "status-none": "#b8c0ca", "status-not_started": "#c0392b", "status-on_plan": "#1f6fb2",
    "status-plan_adjusted": "#e67e22", "status-output_achieved": "#1b7a3a"
  };
  var LEGEND_KEYS = {
    kind: ["primary", "secondary"],
    progress: ["share-0", "share-low", "share-high", "share-all"],
    item: ["status-none", "status-not_started", "status-on_plan", "status-plan_adjusted",
           "status-output_achieved"]
  };
  // Choropleth classes (share 0..1, upper bounds); a purple ramp, so no area reads as a pin colour.
  var AREA_RAMP = [[0.2, "#edf8fb"], [0.4, "#bfd3e6"], [0.6, "#9ebcda"], [0.8, "#8c96c6"],
                   [1.0001, "#88419d"]];
  var SVG_NS = "http://www.w3.org/2000/svg";
  // From this zoom on, imported province outlines (when there are any) replace the basemap's.
  var PROVINCE_DETAIL_ZOOM = 8;

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    return node;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, k) { return String(values[k]); });
  }

  function withLang(url, locale) {
    if (!locale) return url;
    return url + (url.indexOf("?") < 0 ? "?" : "&") + "lang=" + encodeURIComponent(locale);
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) {
        var err = new Error(url + " → HTTP " + r.status);
        err.status = r.status;
        throw err;
      }
      return r.json();
    });
  }

  // A live change is announced once: if the follow-up fetch fails, the map would keep the old
  // data until reloaded, so transient failures (network, 5xx, 408, 429) are retried with a
  // growing delay. Other 4xx answers will not change on retry.
  var RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15000];

  function retrying(attempt, delays) {
    delays = delays || RETRY_DELAYS_MS;
    return attempt().catch(function (e) {
      var s = e && e.status;
      var transient = !s || s >= 500 || s === 408 || s === 429;
      if (!transient || !delays.length) throw e;
      return new Promise(function (resolve) { setTimeout(resolve, delays[0]); })
        .then(function () { return retrying(attempt, delays.slice(1)); });
    });
  }

  // Runs `fn` once the next frame is painted (the first pins), when the browser is idle.
  function afterFrame(fn) {
    requestAnimationFrame(function () {
      setTimeout(function () {
        if (window.requestIdleCallback) window.requestIdleCallback(fn, { timeout: 1000 });
        else fn();
      }, 0);
    });
  }

  var PinMap = {
    // The helpers map-filters.js shares.
    util: { el: el, fmt: fmt, withLang: withLang, getJSON: getJSON },

    // order: office codes in the result list's order (by name); orderStale: to be sorted again.
    state: { total: 0, shown: 0, markers: {}, features: {}, order: [], orderStale: true, ready: false },

    init: function (config, layers) {
      this.config = config;
      this.state.round = config.round || null;
      this.layers = layers;
      this.S = config.strings;
      var self = this;
      // Bubbles show what their pins' colours mean (markercluster's own green/yellow size
      // colours read like the progress legend). Read when each bubble is drawn.
      layers.offices.options.iconCreateFunction = function (cluster) { return self.bubbleIcon(cluster); };
      // The page carries its offices inline (no request); the API's GeoJSON otherwise.
      var officesData = config.offices ? Promise.resolve(this.expand(config.offices))
        : getJSON(config.urls.offices);
      var offices = officesData.then(function (fc) { self.addOffices(fc); });
      // The basemap draws the provinces; imported outlines are finer, which shows only zoomed
      // in, so they are fetched the first time the map gets there (or is there already).
      if (config.imported_provinces) {
        var detail = function () {
          if (layers.map.getZoom() < PROVINCE_DETAIL_ZOOM) return;
          layers.map.off("zoomend", detail);
          self.loadProvinces();
        };
        layers.map.on("zoomend", detail);
        offices.catch(function () {}).then(detail);
      }
      this.bindLayout();
      // Cluster outlines start hidden: fetched the first time they are shown, not by every visitor.
      layers.map.on("overlayadd", function (ev) { if (ev.layer === layers.clusters) self.loadClusters(); });
      if (layers.map.hasLayer(layers.clusters)) this.loadClusters();
      offices.then(function () {
        // Frame the pins at once, without animation: the filters' first fitBounds then finds
        // the map already there, and the pins show one zoom animation sooner.
        var all = Object.keys(self.state.markers).map(function (k) { return self.state.markers[k]; });
        if (all.length) layers.map.fitBounds(L.featureGroup(all).getBounds().pad(0.05), { animate: false });
        self.bindFilters();
        self.applyFilters();
        self.state.ready = true;
        document.documentElement.setAttribute("data-pins-ready", "1");
        self.renderBubbleLegend(self.state.mode || "kind");
        self.listen();
        // The server's name order spared the first frame a collator (its ICU data take
        // milliseconds to load); checked against the browser's own once the pins are drawn.
        if (config.offices_sorted) afterFrame(function () { self.checkOrder(); });
      }).catch(function (e) {
        console.warn("offices:", e.message);
        var box = document.getElementById("result-count");
        if (box) box.textContent = self.S.load_failed;
      });
    },

    // The page's inline offices, column by column (pinmap/public/map_page.py), as the API's
    // GeoJSON features.
    expand: function (cols) {
      return { type: "FeatureCollection", features: cols.code.map(function (code, i) {
        var own = cols.province_code[i];
        return { type: "Feature", id: code, geometry: { type: "Point", coordinates: [cols.lon[i], cols.lat[i]] },
                 properties: { code: code, kind: cols.kind[i], name_th: cols.name_th[i], name_en: cols.name_en[i],
                               province_code: own, province_codes: cols.province_codes[i] || [own],
                               cluster_no: cols.cluster_no[i], location_precision: cols.location_precision[i] } };
      }) };
    },

    loadProvinces: function () {
      var self = this;
      if (!this._provincesLoading) {
        this._provincesLoading = getJSON(this.config.urls.provinces)
          .then(function (fc) { self.addProvinces(fc); })
          .catch(function (e) { console.warn("provinces:", e.message); });
      }
      return this._provincesLoading;
    },

    shareBucket: function (code) {
      var row = this.state.summary && this.state.summary[code];
      if (!row || !row.approved) return "0";
      if (row.approved >= row.items_total) return "all";
      return row.share_approved >= 0.5 ? "high" : "low";
    },

    colourKey: function (p) {
      var mode = this.state.mode || "kind";
      if (mode === "progress") return "share-" + this.shareBucket(p.code);
      if (mode.indexOf("item:") === 0) return "status-" + ((this.state.itemStatus || {})[p.code] || "none");
      return p.kind;
    },

    colourClass: function (p) { return "pin-" + this.colourKey(p); },

    legendKeys: function (mode) {
      mode = mode || this.state.mode || "kind";
      return LEGEND_KEYS[mode.indexOf("item:") === 0 ? "item" : mode] || LEGEND_KEYS.kind;
    },

    keyLabel: function (key) {
      var S = this.S;
      if (key === "primary") return S.primary;
      if (key === "secondary") return S.secondary;
      return S[key.replace("-", "_")] || key;
    },

    // A bubble: white disc with the count, ringed by the share of each pin colour inside it.
    bubbleIcon: function (cluster) {
      var self = this, counts = {}, total = 0;
      cluster.getAllChildMarkers().forEach(function (m) {
        var f = self.state.features[m.pinCode];
        var key = f ? self.colourKey(f.properties) : "other";
        counts[key] = (counts[key] || 0) + 1;
        total += 1;
      });
      var size = total < 10 ? 34 : total < 50 ? 40 : 46;
      var node = this.donut(counts, total, size);
      node.title = total + ": " + this.legendKeys().filter(function (k) { return counts[k]; })
        .map(function (k) { return counts[k] + " " + self.keyLabel(k); }).join(", ");
      return L.divIcon({ html: node, className: "marker-cluster pm-bubble", iconSize: L.point(size, size) });
    },

    donut: function (counts, total, size) {
      var half = size / 2, r = half - 4, circ = 2 * Math.PI * r, offset = 0;
      var root = svg("svg", { width: size, height: size, viewBox: "0 0 " + size + " " + size,
                              "aria-hidden": "true", focusable: "false" });
      root.appendChild(svg("circle", { cx: half, cy: half, r: half - 0.5, fill: "#fff", stroke: "#44505e",
                                       "stroke-width": 1 }));
      this.legendKeys().concat(["other"]).forEach(function (key) {
        var n = counts[key];
        if (!n) return;
        var len = circ * n / total;
        root.appendChild(svg("circle", {
          cx: half, cy: half, r: r, fill: "none", stroke: PALETTE[key] || "#888", "stroke-width": 6,
          "stroke-dasharray": len.toFixed(2) + " " + (circ - len).toFixed(2),
          "stroke-dashoffset": (-offset).toFixed(2), transform: "rotate(-90 " + half + " " + half + ")"
        }));
        offset += len;
      });
      return el("div", { className: "pm-bubble-inner" }, [root, el("span", { text: String(total) })]);
    },

    renderBubbleLegend: function (mode) {
      var box = document.getElementById("legend-bubble");
      if (!box) return;
      var keys = this.legendKeys(mode), counts = {};
      keys.forEach(function (k, i) { counts[k] = i + 1; });
      var sample = this.donut(counts, keys.reduce(function (a, k) { return a + counts[k]; }, 0), 30);
      sample.className += " legend-bubble";
      box.textContent = "";
      box.appendChild(sample);
    },

    icon: function (p, fresh) {
      var cls = "pin pin-shape-" + p.kind + " " + this.colourClass(p) +
        (p.location_precision === "office" ? "" : " pin-approx") + (fresh ? " pin-updated" : "");
      return L.divIcon({ className: "pin-icon", html: '<span class="' + cls + '"></span>',
                         iconSize: [18, 18], iconAnchor: [9, 9], popupAnchor: [0, -8] });
    },

    // popup, and the filters, search and result list: static/js/map-filters.js.

    progressLine: function (p) {
      var mode = this.state.mode || "kind", S = this.S;
      if (mode === "progress" && this.state.summary && this.state.summary[p.code]) {
        var row = this.state.summary[p.code];
        return el("div", { className: "popup-progress", text: S.progress + ": " + row.approved + " / " + row.items_total });
      }
      if (mode.indexOf("item:") === 0) {
        var status = (this.state.itemStatus || {})[p.code];
        return el("div", { className: "popup-progress", text: S["status_" + (status || "none")] });
      }
      return null;
    },

    setColourMode: function (mode, quiet) {
      var self = this, c = this.config;
      var done = function () {
        if (quiet) { self.state.mode = mode; return; }
        self.state.mode = mode;
        Object.keys(self.state.markers).forEach(function (code) {
          self.state.markers[code].setIcon(self.icon(self.state.features[code].properties));
        });
        self.renderLegend(mode);
        self.renderBubbleLegend(mode);
        self.layers.offices.refreshClusters();
        if (self.state.area) self.shadeAreas(self.state.area);
        document.documentElement.setAttribute("data-colour-mode", mode);
      };
      // A chosen reporting round (the round selector, ?round=) narrows the colours to it.
      var url = c.urls.summary + "?fiscal_year=" + encodeURIComponent(c.fiscal_year) +
        (this.state.round ? "&round=" + this.state.round : "");
      if (mode === "kind") return Promise.resolve(done());  // callers chain .catch on it
      if (mode === "progress") {
        return getJSON(url).then(function (data) { self.state.summary = data.offices; done(); });
      }
      var parts = mode.split(":");
      return getJSON(url + "&item_kind=" + parts[1] + "&item_no=" + parts[2]).then(function (data) {
        self.state.itemStatus = data.offices; done();
      });
    },

    renderLegend: function (mode) {
      var box = document.getElementById("legend-colours"), S = this.S;
      if (!box) return;
      var rows;
      if (mode === "kind") rows = [["pin-shape-primary pin-primary", S.primary], ["pin-shape-secondary pin-secondary", S.secondary]];
      else if (mode === "progress") rows = [["pin-share-0", S.share_0], ["pin-share-low", S.share_low],
                                            ["pin-share-high", S.share_high], ["pin-share-all", S.share_all]];
      else rows = ["none", "not_started", "on_plan", "plan_adjusted", "output_achieved"].map(function (k) {
        return ["pin-status-" + k, S["status_" + k]];
      });
      box.textContent = "";
      var picked = document.getElementById("f-round");
      if (mode !== "kind" && this.state.round && picked && picked.selectedIndex > 0) {
        box.appendChild(el("p", { className: "legend-round", text: picked.options[picked.selectedIndex].text }));
      }
      rows.forEach(function (r) {
        box.appendChild(el("p", {}, [el("span", { className: "pin legend-pin " + r[0] }), document.createTextNode(" " + r[1])]));
      });
    },

    listen: function () {
      if (!window.EventSource || !this.config.urls.stream) return;
      var self = this;
      // EventSource reconnects by itself and sends Last-Event-ID, so nothing is missed.
      this.source = new EventSource(this.config.urls.stream);
      this.source.addEventListener("change", function (ev) {
        var change = JSON.parse(ev.data);
        self.onChange(change).catch(function (e) { console.warn("live:", e.message); });
      });
      this.source.addEventListener("reset", function () { window.location.reload(); });
    },

    onChange: function (change) {
      var self = this, code = change.office_code, marker = this.state.markers[code];
      if (!marker) return Promise.resolve();
      var work;
      if (change.kind.indexOf("best_practice.") === 0) {
        // Which offices have a best practice changed: refetch and refilter if filtering by it.
        this.state.bpOffices = {};
        var bp = (document.getElementById("f-bp") || { value: "" }).value;
        work = retrying(function () { return self.loadBestPractices(bp); }).then(function () {
          self.refilter();
        });
      } else if (change.kind === "office.updated") {
        // Two changes to one office may be fetched at once; only the later fetch may win,
        // or a slow earlier answer would put the older data back.
        var seq = this._fetchSeq = (this._fetchSeq || 0) + 1;
        this._latestFetch = this._latestFetch || {};
        this._latestFetch[code] = seq;
        var url = this.config.urls.office.replace("__CODE__", encodeURIComponent(code));
        work = retrying(function () { return getJSON(url); }).then(function (f) {
          if (self._latestFetch[code] !== seq) return;
          var wasIn = self.state.features[code].properties.cluster_no;
          self.state.features[code] = f;
          self.state.orderStale = true;  // it may have been renamed
          marker.setLatLng([f.geometry.coordinates[1], f.geometry.coordinates[0]]);
          // A change may move the office out of (or into) what the filters select.
          self.refilter();
          // Cluster outlines follow their members: redraw them after a move.
          if (f.properties.cluster_no !== wasIn) return self.reloadClusters();
        });
      } else if (change.kind === "progress.approved" && this.state.mode !== "kind" &&
                 !(this.state.round && (change.payload || {}).round_no !== this.state.round)) {
        work = retrying(function () { return self.setColourMode(self.state.mode, true); });
      } else {
        work = Promise.resolve();
      }
      if (change.kind === "progress.approved" && this.state.area &&
          !(this.state.round && (change.payload || {}).round_no !== this.state.round)) {
        work = work.then(function () {
          return retrying(function () { return self.shadeAreas(self.state.area, true); });
        });
      }
      return work.then(function () {
        var p = self.state.features[code].properties;
        // A divIcon reuses its element, so the shown title is set here; the options are for
        // the element built when the marker next comes onto the map.
        marker.options.title = marker.options.alt = p.name_th;
        marker.setIcon(self.icon(p, true));
        self.layers.offices.refreshClusters(marker);
        if (marker.getElement()) marker.getElement().title = p.name_th;
        // Popup and tooltip content are functions of the current data: update() re-runs them.
        if (marker.isPopupOpen()) marker.getPopup().update();
        if (marker.isTooltipOpen()) marker.getTooltip().update();
        self.cue(p);
        var last = Number(document.documentElement.getAttribute("data-last-change") || 0);
        if (change.id > last) document.documentElement.setAttribute("data-last-change", String(change.id));
      });
    },

    cue: function (p) {
      var box = document.getElementById("live-cue");
      if (!box) return;
      box.textContent = fmt(this.S.updated_now, { name: p.name_th });
      box.hidden = false;
      clearTimeout(this._cueTimer);
      this._cueTimer = setTimeout(function () { box.hidden = true; }, 8000);
    },

    addOffices: function (fc) {
      var self = this;
      fc.features.forEach(function (f) {
        var p = f.properties, ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
        var name = self.displayName ? self.displayName(p) : p.name_th;
        var marker = L.marker(ll, { icon: self.icon(p), title: name, alt: name, riseOnHover: true });
        // Live changes replace state.features[code]: read it when shown, never capture p.
        var current = function () { return self.state.features[p.code].properties; };
        marker.bindPopup(function () { return self.popup(current()); }, { maxWidth: 320 });
        marker.bindTooltip(function () { return el("span", { text: self.displayName ? self.displayName(current()) : current().name_th }); },
                           { direction: "top", offset: [0, -8] });
        marker.pinCode = p.code;
        self.state.markers[p.code] = marker;
        self.state.features[p.code] = f;
        self.state.order.push(p.code);
      });
      this.state.total = fc.features.length;
      // The page's inline offices come in name order (map_page.py), the API's by code.
      this.state.orderStale = !(this.config.offices && this.config.offices_sorted);
    },

    addProvinces: function (fc) {
      var self = this;
      if (!fc.features.length) return;
      // Imported outlines replace the basemap's (basemap.js leaves the group alone once filled).
      this.layers.provinces.clearLayers();
      var layer = L.geoJSON(fc, {
        style: { color: "#6b7a8f", weight: 1, fillColor: "#eef1f5", fillOpacity: 0.6 },
        onEachFeature: function (f, l) { l.bindTooltip(el("span", { text: (self.config.province_names || {})[f.properties.code] || f.properties.name_th }), { sticky: true }); }
      });
      layer.addTo(this.layers.provinces);
      this.layers.provinces.bringToBack && this.layers.provinces.bringToBack();
      // Shaded before they arrived: the new outlines get the same shading.
      if (this.state.area && this.state.area.indexOf("province:") === 0) this.shadeAreas(this.state.area);
      document.documentElement.setAttribute("data-provinces-imported", String(fc.features.length));
    },

    addRegions: function (fc) {
      var self = this;
      var layer = L.geoJSON(fc, {
        style: function (f) {
          var colour = CLUSTER_COLOURS[(f.properties.no - 1) % CLUSTER_COLOURS.length];
          return { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.18 };
        },
        onEachFeature: function (f, l) {
          l.bindTooltip(el("span", { text: f.properties.no + " · " + self.clusterName(f.properties) }), { sticky: true });
          l.bindPopup(function () { return self.clusterLink(f.properties); });
        }
      });
      layer.addTo(this.layers.clusters);
    },

    loadClusters: function () {
      var self = this, urls = this.config.urls;
      if (this._clustersLoading) return this._clustersLoading;
      var wanted = [getJSON(urls.regions).then(function (fc) { self.addRegions(fc); })];
      if (urls.labels) wanted.push(getJSON(urls.labels).then(function (fc) { self.addLabels(fc); }));
      this._clustersLoading = Promise.all(wanted.map(function (p) {
        return p.catch(function (e) { console.warn("clusters:", e.message); });
      }));
      return this._clustersLoading;
    },

    reloadClusters: function () {
      var self = this;
      // Never shown yet: they will be fetched, current, when first shown.
      if (!this._clustersLoading) return Promise.resolve();
      // A move during the first load must not draw the outlines twice.
      return this._clustersLoading.then(function () { return self.redrawClusters(); });
    },

    redrawClusters: function () {
      var self = this, urls = this.config.urls;
      var wanted = [retrying(function () { return getJSON(urls.regions); })];
      if (urls.labels) wanted.push(retrying(function () { return getJSON(urls.labels); }));
      return Promise.all(wanted).then(function (got) {
        self.layers.clusters.clearLayers();
        self.addRegions(got[0]);
        if (got[1]) self.addLabels(got[1]);
        if (self.state.area && self.state.area.indexOf("cluster:") === 0) self.shadeAreas(self.state.area);
        document.documentElement.setAttribute(
          "data-clusters-drawn", String(Number(document.documentElement.getAttribute("data-clusters-drawn") || 0) + 1));
      });
    },

    // A cluster's name in the page's language.
    clusterName: function (props) {
      return (this.config.cluster_names || {})[props.no] || props.name_th;
    },

    clusterLink: function (props) {
      return el("div", { className: "popup" }, [
        el("strong", { className: "popup-title", text: props.no + " · " + this.clusterName(props) }),
        el("a", { className: "popup-link", href: this.config.urls.cluster_page + encodeURIComponent(props.no),
                  text: this.S.open_cluster + " →" })
      ]);
    },

    addLabels: function (fc) {
      var self = this;
      fc.features.forEach(function (f) {
        var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
        var label = el("span", { className: "cluster-label", text: String(f.properties.no) });
        L.marker(ll, { icon: L.divIcon({ className: "cluster-label-icon", html: label.outerHTML, iconSize: null }),
                       interactive: true, keyboard: false })
          .bindTooltip(el("span", { text: self.clusterName(f.properties) }))
          .bindPopup(function () { return self.clusterLink(f.properties); })
          .addTo(self.layers.clusters);
      });
    },

    // -- area shading (choropleth) ---------------------------------------------------------
    // Completeness ("reported") is the share of an area's offices with at least one approved
    // report; "approved" is approved items over all items of the area's offices. An office
    // counts in every province it covers. With a round chosen, both read that round only.
    // Each share is [part, whole]: the tooltip's percentage is floored from the integers.
    areaShares: function (area) {
      var self = this, byArea = {}, level = area.split(":")[0], what = area.split(":")[1];
      var summary = (this.state.areaData || {}).offices || {};
      Object.keys(this.state.features).forEach(function (code) {
        var p = self.state.features[code].properties, row = summary[code] || {};
        var ids = level === "cluster" ? [String(p.cluster_no)]
          : ((p.province_codes && p.province_codes.length) ? p.province_codes : [p.province_code]);
        ids.forEach(function (id) {
          var a = byArea[id] = byArea[id] || { offices: 0, reported: 0, approved: 0, items: 0 };
          a.offices += 1;
          a.reported += row.approved ? 1 : 0;
          a.approved += row.approved || 0;
          a.items += row.items_total || 0;
        });
      });
      var shares = {};
      Object.keys(byArea).forEach(function (id) {
        var a = byArea[id];
        shares[id] = what === "approved" ? [a.approved, a.items] : [a.reported, a.offices];
      });
      return shares;
    },

    // "33.33 %": floored to hundredths of a per cent, so only a complete area reads 100.00 %.
    percent: function (part, whole) {
      return (whole ? Math.floor(part * 10000 / whole) / 100 : 0).toFixed(2) + " %";
    },

    areaLayers: function (group, visit) {
      var self = this;
      group.eachLayer(function (l) {
        if (l.feature && l.setStyle) visit(l);
        else if (l.eachLayer) self.areaLayers(l, visit);
      });
    },

    restyleArea: function (l, style, share) {
      if (!l._pmBase) {
        var o = l.options;
        l._pmBase = { color: o.color, weight: o.weight, fillColor: o.fillColor, fillOpacity: o.fillOpacity };
      }
      l.setStyle(style || l._pmBase);
      // The tooltip names the area, then (shaded) its exact share: "Chiang Mai · 33.33 % (1 / 3)".
      var tip = l.getTooltip && l.getTooltip();
      if (!tip) return;
      if (l._pmTip === undefined) l._pmTip = tip.getContent();
      var name = l._pmTip && l._pmTip.textContent !== undefined ? l._pmTip.textContent : l._pmTip;
      tip.setContent(share ? el("span", { text: name + " · " + this.percent(share[0], share[1]) +
                                                  " (" + share[0] + " / " + share[1] + ")" }) : l._pmTip);
    },

    shadeAreas: function (area, fresh) {
      var self = this, c = this.config, map = this.layers.map;
      this.state.area = area;
      var unshade = function (group) { self.areaLayers(group, function (l) { self.restyleArea(l, null); }); };
      unshade(this.layers.provinces);
      unshade(this.layers.clusters);
      this.renderAreaLegend(area);
      document.documentElement.setAttribute("data-area-mode", area || "none");
      if (!area) return Promise.resolve();
      var level = area.split(":")[0];
      var group = level === "cluster" ? this.layers.clusters : this.layers.provinces;
      // The areas' own copy of the summary, of the chosen round (the pins' may be of one item).
      var url = c.urls.summary + "?fiscal_year=" + encodeURIComponent(c.fiscal_year) +
        (this.state.round ? "&round=" + this.state.round : "");
      var summary = (this.state.areaData && this.state.areaData.url === url && !fresh) ? Promise.resolve() :
        getJSON(url).then(function (data) { self.state.areaData = { url: url, offices: data.offices }; });
      var drawn = level === "cluster" ? this.loadClusters() : Promise.resolve();
      return Promise.all([summary, drawn]).then(function () {
        if (self.state.area !== area || self.state.areaData.url !== url) return;  // chosen again meanwhile
        if (!map.hasLayer(group)) map.addLayer(group);
        var shares = self.areaShares(area);
        self.areaLayers(group, function (l) {
          var props = l.feature.properties, id = String(level === "cluster" ? props.no : props.code);
          var v = shares[id];
          if (v === undefined) return self.restyleArea(l, { fillColor: "#ffffff", fillOpacity: 0.3 });
          var share = v[1] ? v[0] / v[1] : 0;
          var fill = AREA_RAMP.filter(function (r) { return share < r[0]; })[0][1];
          self.restyleArea(l, { color: "#4d3a66", weight: 1, fillColor: fill, fillOpacity: 0.8 }, v);
        });
        document.documentElement.setAttribute("data-areas-shaded", area + (self.state.round ? "@" + self.state.round : ""));
      });
    },

    renderAreaLegend: function (area) {
      var box = document.getElementById("legend-areas"), select = document.getElementById("f-areas");
      if (!box) return;
      box.textContent = "";
      box.hidden = !area;
      if (!area || !select) return;
      box.appendChild(el("p", { className: "legend-heading", text: select.options[select.selectedIndex].label }));
      var lower = 0;
      AREA_RAMP.forEach(function (r) {
        var upper = Math.min(100, Math.round(r[0] * 100));
        box.appendChild(el("p", {}, [el("span", { className: "area-swatch", style: "background:" + r[1] }),
          document.createTextNode(" " + lower + "–" + upper + " %")]));
        lower = upper;
      });
    },

    // -- layout: the filter drawer on narrow screens ----------------------------------------
    bindLayout: function () {
      var self = this, btn = document.getElementById("drawer-toggle");
      var panel = document.getElementById("map-panel"), close = document.getElementById("drawer-close");
      var narrow = window.matchMedia("(max-width: 760px)");
      var areas = document.getElementById("f-areas"), areasForm = document.getElementById("areas-form");
      if (areasForm) areasForm.addEventListener("submit", function (ev) { ev.preventDefault(); });
      if (areas) areas.addEventListener("change", function () {
        self.shadeAreas(areas.value).catch(function (e) { console.warn("areas:", e.message); });
      });
      if (!btn || !panel) return;
      var setOpen = function (open, focus) {
        document.body.classList.toggle("drawer-open", open);
        btn.setAttribute("aria-expanded", open ? "true" : "false");
        if (focus && open) (close || panel).focus();
        else if (focus) btn.focus();
      };
      btn.addEventListener("click", function () {
        setOpen(!document.body.classList.contains("drawer-open"), true);
      });
      if (close) close.addEventListener("click", function () { setOpen(false, true); });
      document.addEventListener("keydown", function (ev) {
        if (ev.key === "Escape" && document.body.classList.contains("drawer-open")) setOpen(false, true);
      });
      // Choosing a result on a phone shows it on the map, which the drawer would cover.
      var results = document.getElementById("results");
      if (results) results.addEventListener("click", function (ev) {
        if (narrow.matches && ev.target.closest("a")) setOpen(false, false);
      });
    },

    loadBestPractices: function (key) {
      var self = this, c = this.config;
      this.state.bpOffices = this.state.bpOffices || {};
      if (!key || this.state.bpOffices[key]) return Promise.resolve();
      var parts = key.split(":");
      var url = c.urls.bp_offices + "?fiscal_year=" + encodeURIComponent(c.fiscal_year) +
        "&item_kind=" + encodeURIComponent(parts[0]) + "&item_no=" + encodeURIComponent(parts[1]);
      return getJSON(url).then(function (data) {
        var set = {};
        (data.offices || []).forEach(function (code) { set[code] = true; });
        self.state.bpOffices[key] = set;
      });
    }
  };

  window.PinMap = PinMap;
})();
