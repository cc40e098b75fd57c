/* pinmap.js: fills the folium-rendered map from the JSON API and runs filters and search.
   Every user-visible string from the data goes through textContent, never innerHTML. */
(function () {
  "use strict";

  var CLUSTER_COLOURS = [
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
    "#1f78b4", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6", "#6a3d9a", "#b15928", "#8dd3c7",
    "#bebada", "#80b1d3"
  ];

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

  var PinMap = {
    state: { total: 0, shown: 0, markers: {}, features: {}, ready: false },

    init: function (config, layers) {
      this.config = config;
      this.layers = layers;
      this.S = config.strings;
      var self = this;
      var offices = getJSON(config.urls.offices).then(function (fc) { self.addOffices(fc); });
      getJSON(config.urls.provinces).then(function (fc) { self.addProvinces(fc); })
        .catch(function (e) { console.warn("provinces:", e.message); });
      getJSON(config.urls.regions).then(function (fc) { self.addRegions(fc); })
        .catch(function (e) { console.warn("regions:", e.message); });
      if (config.urls.labels) {
        getJSON(config.urls.labels).then(function (fc) { self.addLabels(fc); })
          .catch(function (e) { console.warn("labels:", e.message); });
      }
      offices.then(function () {
        self.bindFilters();
        self.applyFilters();
        self.state.ready = true;
        document.documentElement.setAttribute("data-pins-ready", "1");
        self.listen();
      }).catch(function (e) {
        console.warn("offices:", e.message);
        var box = document.getElementById("result-count");
        if (box) box.textContent = self.S.load_failed;
      });
    },

    shareBucket: function (code) {
      var row = this.state.summary && this.state.summary[code];
      if (!row || !row.approved) return "0";
      if (row.approved >= row.items_total) return "all";
      return row.share_approved >= 0.5 ? "high" : "low";
    },

    colourClass: function (p) {
      var mode = this.state.mode || "kind";
      if (mode === "progress") return "pin-share-" + this.shareBucket(p.code);
      if (mode.indexOf("item:") === 0) return "pin-status-" + ((this.state.itemStatus || {})[p.code] || "none");
      return "pin-" + p.kind;
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
        document.documentElement.setAttribute("data-colour-mode", mode);
      };
      var url = c.urls.summary + "?fiscal_year=" + encodeURIComponent(c.fiscal_year);
      if (mode === "kind") return done();
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
          marker.setLatLng([f.geometry.coordinates[1], f.geometry.coordinates[0]]);
          // A change may move the office out of (or into) what the filters select.
          self.refilter();
          // Cluster outlines follow their members: redraw them after a move.
          if (f.properties.cluster_no !== wasIn) return self.reloadClusters();
        });
      } else if (change.kind === "progress.approved" && this.state.mode !== "kind") {
        work = retrying(function () { return self.setColourMode(self.state.mode, true); });
      } else {
        work = Promise.resolve();
      }
      return work.then(function () {
        var p = self.state.features[code].properties;
        // A divIcon reuses its element, so the shown title is set here; the options are for
        // the element built when the marker next comes onto the map.
        marker.options.title = marker.options.alt = p.name_th;
        marker.setIcon(self.icon(p, true));
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
      });
      this.state.total = fc.features.length;
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

    reloadClusters: function () {
      var self = this, urls = this.config.urls;
      var wanted = [retrying(function () { return getJSON(urls.regions); })];
      if (urls.labels) wanted.push(retrying(function () { return getJSON(urls.labels); }));
      return Promise.all(wanted).then(function (got) {
        self.layers.clusters.clearLayers();
        self.addRegions(got[0]);
        if (got[1]) self.addLabels(got[1]);
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
