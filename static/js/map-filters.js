/* map-filters.js: the national map's filters, search, result list and export links; loaded
   after pinmap.js, it adds these methods to window.PinMap.

   The search box is answered by the server (/api/v1/search): one reading of what people type
   ("เชียงใหม่ 2", "กทม", "50") and one ranking, shared with the API and the exports. The other
   filters are exact and applied here at once. The filters live in the address (history API):
   a view can be shared, bookmarked, and the back button undoes a change.
   Every string from the data goes through textContent, never innerHTML. */
(function () {
  "use strict";

  var PAGE_SIZE = 20;
  // Filters in the address, in this order; "colour" is the view, not a filter, but shared too.
  var URL_KEYS = ["q", "cluster", "province", "kind", "bp", "office", "colour", "fy", "round"];

  // Shared with pinmap.js, which is loaded first.
  var U = window.PinMap.util, el = U.el, fmt = U.fmt, withLang = U.withLang, getJSON = U.getJSON;

  function byId(id) { return document.getElementById(id); }

  function query(args) {
    var parts = [];
    Object.keys(args).forEach(function (k) {
      if (args[k]) parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(args[k]));
    });
    return parts.join("&");
  }

  var Filters = {
    // The office's name in the page's language.
    displayName: function (p) {
      return this.config.lang === "en" ? (p.name_en || p.name_th) : p.name_th;
    },

    otherName: function (p) {
      return this.config.lang === "en" ? p.name_th : p.name_en;
    },

    provinceNames: function (p) {
      var names = this.config.province_names || {};
      var codes = p.province_codes && p.province_codes.length ? p.province_codes : [p.province_code];
      return codes.map(function (c, i) { return names[c] || (p.provinces_th || [])[i] || c; });
    },

    popup: function (p) {
      var S = this.S, c = this.config;
      var other = this.otherName(p);
      return el("div", { className: "popup" }, [
        el("strong", { className: "popup-title", text: this.displayName(p) }),
        other ? el("div", { className: "popup-en", lang: c.lang === "en" ? "th" : "en", text: other }) : null,
        el("div", { text: (p.kind === "primary" ? S.primary : S.secondary) }),
        el("div", { text: S.cluster + " " + p.cluster_no + " · " + (c.cluster_names[p.cluster_no] || "") }),
        el("div", { text: S.provinces_covered + ": " + this.provinceNames(p).join(", ") }),
        this.progressLine(p),
        p.location_precision === "office" ? null : el("div", { className: "popup-approx",
          text: S.approximate + " (" + (p.location_precision === "amphoe" ? S.precision_amphoe : S.precision_province) + ")" }),
        el("a", { className: "popup-link",
                  href: withLang(c.urls.office_page.replace("__CODE__", encodeURIComponent(p.code)), c.locale),
                  text: S.open_profile + " →" })
      ]);
    },

    filterValues: function () {
      var kind = document.querySelector('#filters input[name="kind"]:checked');
      var office = document.querySelector('#filters input[name="office"]');
      return {
        q: (byId("f-q").value || "").trim(),
        cluster: byId("f-cluster").value,
        province: byId("f-province").value,
        kind: kind ? kind.value : "",
        bp: (byId("f-bp") || { value: "" }).value,
        office: office ? office.value : ""
      };
    },

    // The ranked codes the server found for `q` (a promise; answers are kept per query, and
    // asked again when `fresh`).
    searchFor: function (q, fresh) {
      var self = this;
      this.state.searches = this.state.searches || {};
      if (!q || (this.state.searches[q] && !fresh)) return Promise.resolve();
      var url = this.config.urls.search + "?" + query({ q: q, per_page: 1 });
      return getJSON(url).then(function (body) {
        var rank = {};
        body.codes.forEach(function (code, i) { rank[code] = i; });
        self.state.searches[q] = rank;
      });
    },

    matches: function (p, v) {
      if (v.kind && p.kind !== v.kind) return false;
      if (v.office && p.code !== v.office) return false;
      if (v.bp && !(this.state.bpOffices && this.state.bpOffices[v.bp] &&
                    this.state.bpOffices[v.bp][p.code])) return false;
      if (v.cluster && String(p.cluster_no) !== v.cluster) return false;
      if (v.province && p.province_code !== v.province &&
          (p.province_codes || []).indexOf(v.province) < 0) return false;
      if (v.q) {
        var rank = (this.state.searches || {})[v.q];
        if (!rank || rank[p.code] === undefined) return false;
      }
      return true;
    },

    // Markers the filters choose, in list order: best match first when searching, else by name.
    chosenMarkers: function (v) {
      var self = this, chosen = [], F = this.state.features;
      if (this.state.orderStale) {
        this.state.order = this.byName(this.state.order);
        this.state.orderStale = false;
      }
      this.state.order.forEach(function (code) {
        if (self.matches(F[code].properties, v)) chosen.push(self.state.markers[code]);
      });
      var rank = v.q && (this.state.searches || {})[v.q];
      if (rank) chosen.sort(function (a, b) { return rank[a.pinCode] - rank[b.pinCode]; });
      return chosen;
    },

    // Codes by the office's name in the page's language (one collator: making one loads ICU data).
    byName: function (codes) {
      var self = this, F = this.state.features;
      var collator = this._collator = this._collator ||
        new Intl.Collator(this.config.lang === "en" ? "en" : "th");
      return codes.slice().sort(function (a, b) {
        return collator.compare(self.displayName(F[a].properties), self.displayName(F[b].properties));
      });
    },

    // The server's name order against the browser's: should they differ, the list follows
    // the browser's, as it would have had it sorted at first.
    checkOrder: function () {
      var order = this.byName(this.state.order);
      if (order.join() === this.state.order.join()) return;
      this.state.order = order;
      var v = this.filterValues();
      if (byId("filters") && !v.q) {
        this._resultsKey = null;
        this.renderResults(this.chosenMarkers(v), v);
      }
    },

    showCount: function (chosen) {
      this.state.shown = chosen.length;
      var count = byId("result-count");
      count.textContent = chosen.length ? fmt(this.S.showing, { shown: chosen.length, total: this.state.total })
                                        : this.S.no_match;
    },

    // Re-applies the user's current filters after a live change. Unlike applyFilters it moves
    // only the markers whose membership changed (an open popup elsewhere stays open), leaves
    // the view where the user put it, and rebuilds the result list only if it differs.
    refilter: function () {
      if (!byId("filters")) return Promise.resolve();
      var self = this, v = this.filterValues();
      var apply = function () {
        var group = self.layers.offices, chosen = self.chosenMarkers(v), wanted = {};
        chosen.forEach(function (m) { wanted[m.pinCode] = true; });
        Object.keys(self.state.markers).forEach(function (code) {
          var m = self.state.markers[code], has = group.hasLayer(m);
          if (wanted[code] && !has) group.addLayer(m);
          else if (!wanted[code] && has) group.removeLayer(m);
        });
        self.showCount(chosen);
        self.renderResults(chosen, v);
      };
      // At once with the search answer in hand (a renamed office shows its new name now),
      // then again with a fresh answer: the change may have renamed an office into or out of
      // what was searched for.
      apply();
      if (!v.q) return Promise.resolve();
      return this.searchFor(v.q, true).then(function () {
        if (JSON.stringify(self.filterValues()) === JSON.stringify(v)) apply();
      }).catch(function (e) { console.warn("search:", e.message); });
    },

    // Applies the form to the map, the list and the export links. `how`: "push" (a new history
    // entry), "replace" (the search box while typing), or "none" (back/forward, first load).
    applyFilters: function (how) {
      var self = this, v = this.filterValues();
      // The search box fires "change" again on blur; redoing identical work would rebuild the
      // result list under the user's pointer and swallow their click.
      var key = JSON.stringify(v);
      if (key === this._lastFilterKey) return Promise.resolve();
      this._lastFilterKey = key;
      this.syncProvinces();
      this.writeAddress(how || "none");
      this.exportLinks(v);
      var box = byId("result-count");
      return Promise.all([this.searchFor(v.q), this.loadBestPractices(v.bp)]).then(function () {
        // Typing on while the answer came: only the latest filters may draw.
        if (JSON.stringify(self.filterValues()) !== key) return;
        var chosen = self.chosenMarkers(v), group = self.layers.offices;
        // Re-clustering costs tens of milliseconds: skipped when the map already shows exactly
        // these pins (the first load, where every office was just added).
        var same = group.getLayers().length === chosen.length &&
          chosen.every(function (m) { return group.hasLayer(m); });
        if (!same) {
          group.clearLayers();
          group.addLayers(chosen);
        }
        self.showCount(chosen);
        self.state.page = 1;
        self._resultsKey = null;
        self.renderResults(chosen, v);
        var filtered = v.q || v.cluster || v.province || v.kind || v.bp || v.office;
        if (chosen.length && filtered) {
          self.layers.map.fitBounds(L.featureGroup(chosen).getBounds().pad(0.2), { maxZoom: 10 });
        } else if (chosen.length) {
          self.layers.map.fitBounds(L.featureGroup(chosen).getBounds().pad(0.05));
        }
        document.documentElement.setAttribute("data-filters-applied", key);
      }).catch(function (e) {
        console.warn("filters:", e.message);
        self._lastFilterKey = null;  // the same filters may be tried again
        if (box) box.textContent = self.S.search_failed;
      });
    },

    renderResults: function (chosen, v) {
      var list = byId("results"), self = this, F = this.state.features;
      var pages = Math.max(1, Math.ceil(chosen.length / PAGE_SIZE));
      var page = Math.min(Math.max(1, this.state.page || 1), pages);
      this.state.page = page;
      var listed = chosen.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
      // Rebuilding an unchanged list under the user's pointer would swallow their click.
      var key = JSON.stringify([page, listed.map(function (m) {
        return [m.pinCode, self.displayName(F[m.pinCode].properties)];
      })]);
      if (key === this._resultsKey) return;
      this._resultsKey = key;
      list.textContent = "";
      list.setAttribute("start", String((page - 1) * PAGE_SIZE + 1));
      listed.forEach(function (m) {
        var p = F[m.pinCode].properties;
        var link = el("a", { href: withLang(self.config.urls.office_page.replace("__CODE__", encodeURIComponent(p.code)), self.config.locale),
                             text: self.displayName(p), "data-code": p.code });
        link.addEventListener("click", function (ev) {
          ev.preventDefault();
          // Jump without animation first: zoomToShowLayer never calls back if another
          // zoom animation (from the filter's fitBounds) is still running.
          var map = self.layers.map;
          map.setView(m.getLatLng(), Math.max(map.getZoom(), 11), { animate: false });
          self.layers.offices.zoomToShowLayer(m, function () { m.openPopup(); });
        });
        list.appendChild(el("li", {}, [link]));
      });
      var pager = byId("results-pager");
      if (pager) {
        // .pager is display: flex, which would override the hidden attribute alone.
        pager.hidden = pages < 2;
        pager.style.display = pages < 2 ? "none" : "";
        byId("results-page").textContent = fmt(this.S.page_of, { page: page, pages: pages });
        byId("results-prev").disabled = page <= 1;
        byId("results-next").disabled = page >= pages;
      }
      this._chosen = chosen;
    },

    turnPage: function (step) {
      this.state.page = (this.state.page || 1) + step;
      this.renderResults(this._chosen || [], this.filterValues());
    },

    // The province list follows the cluster: provinces outside it are hidden (and a chosen one
    // outside it is let go), so the two filters cannot contradict each other.
    syncProvinces: function () {
      var cluster = byId("f-cluster").value, select = byId("f-province");
      Array.prototype.forEach.call(select.options, function (o) {
        if (!o.value) return;
        var out = !!cluster && (o.getAttribute("data-clusters") || "").split(" ").indexOf(cluster) < 0;
        o.hidden = out;
        o.disabled = out;
        if (out && o.selected) select.value = "";
      });
    },

    addressArgs: function () {
      var v = this.filterValues(), colour = byId("f-colour");
      var args = { q: v.q, cluster: v.cluster, province: v.province, kind: v.kind, bp: v.bp,
                   office: v.office, colour: colour && colour.value !== "kind" ? colour.value : "",
                   fy: this.state.round ? this.config.fiscal_year : "", round: this.state.round || "" };
      return args;
    },

    // The filters into the address; other arguments (lang) are kept.
    writeAddress: function (how) {
      if (how === "none" || !window.history || !history.pushState) return;
      var params = new URLSearchParams(window.location.search), args = this.addressArgs();
      URL_KEYS.forEach(function (k) { params.delete(k); });
      URL_KEYS.forEach(function (k) { if (args[k]) params.set(k, args[k]); });
      var search = params.toString(), url = window.location.pathname + (search ? "?" + search : "");
      if (url === window.location.pathname + window.location.search) return;
      if (how === "replace") history.replaceState({ pinmap: true }, "", url);
      else history.pushState({ pinmap: true }, "", url);
    },

    // The address into the form (back and forward). Values the form does not offer are left
    // out and named in the notice above the form.
    readAddress: function () {
      var params = new URLSearchParams(window.location.search), ignored = [];
      var setSelect = function (id, value, fallback) {
        var select = byId(id);
        if (!select) return;
        var ok = !value || Array.prototype.some.call(select.options, function (o) { return o.value === value; });
        select.value = ok && value ? value : fallback;
        if (!ok) ignored.push(id.replace("f-", "") + "=" + value);
      };
      byId("f-q").value = (params.get("q") || "").slice(0, 100);
      setSelect("f-cluster", params.get("cluster") || "", "");
      this.syncProvinces();
      setSelect("f-province", params.get("province") || "", "");
      setSelect("f-bp", params.get("bp") || "", "");
      setSelect("f-colour", params.get("colour") || (params.get("round") ? "progress" : ""), "kind");
      var round = byId("f-round");
      if (round) round.value = params.get("round") ? params.get("fy") + ":" + params.get("round") : "";
      var kind = params.get("kind") || "";
      var radio = document.querySelector('#filters input[name="kind"][value="' + (["", "primary", "secondary"].indexOf(kind) >= 0 ? kind : "") + '"]');
      if (radio) radio.checked = true;
      if (["", "primary", "secondary"].indexOf(kind) < 0) ignored.push("kind=" + kind);
      var office = document.querySelector('#filters input[name="office"]');
      if (office && !params.get("office")) office.parentNode.removeChild(office);
      var notice = byId("filters-ignored");
      if (notice && !ignored.length) notice.hidden = true;
      return ignored;
    },

    exportLinks: function (v) {
      var urls = this.config.urls.exports || {}, args = query({
        q: v.q, cluster: v.cluster, province: v.province, kind: v.kind, bp: v.bp, office: v.office,
        // A best practice's item is of one fiscal year: the export must look in the same one.
        fiscal_year: v.bp ? this.config.fiscal_year : ""
      });
      Object.keys(urls).forEach(function (fmtName) {
        var link = byId("export-" + fmtName);
        if (link) link.setAttribute("href", urls[fmtName] + (args ? "?" + args : ""));
      });
    },

    bindFilters: function () {
      var self = this, timer = null, form = byId("filters"), typing = false;
      if (!form) return;
      // Values the server left out of the form stay out of the address too.
      if (byId("filters-ignored")) this.writeAddress("replace");
      // The filters apply as they change; Enter in the search box must not reload the page.
      form.addEventListener("submit", function (ev) { ev.preventDefault(); });
      form.addEventListener("change", function (ev) {
        if (ev.target && ev.target.id === "f-colour") return;
        typing = false;
        self.applyFilters("push");
      });
      var colour = byId("f-colour");
      if (colour) {
        colour.addEventListener("change", function () {
          self.writeAddress("push");
          self.setColourMode(colour.value).catch(function (e) { console.warn("colour:", e.message); });
        });
        if (colour.value !== "kind") {
          self.setColourMode(colour.value).catch(function (e) { console.warn("colour:", e.message); });
        }
      }
      byId("f-q").addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          // One history entry per search, not one per letter typed.
          self.applyFilters(typing ? "replace" : "push");
          typing = true;
        }, 200);
      });
      var prev = byId("results-prev"), next = byId("results-next");
      if (prev) prev.addEventListener("click", function () { self.turnPage(-1); });
      if (next) next.addEventListener("click", function () { self.turnPage(1); });
      this.bindRound();
      window.addEventListener("popstate", function () {
        typing = false;
        // Another fiscal year is another page (its items and rounds come from the server).
        if (self.yearOf(new URLSearchParams(window.location.search)) !== self.config.fiscal_year) {
          window.location.reload();
          return;
        }
        self.readAddress();
        self.state.round = Number(new URLSearchParams(window.location.search).get("round")) || null;
        self.nameRound();
        self.state.mode = "stale";  // the round may have changed: fetch the colours again
        var colourNow = byId("f-colour");
        if (colourNow && colourNow.value !== (self.state.mode || "kind")) {
          self.setColourMode(colourNow.value).catch(function (e) { console.warn("colour:", e.message); });
        }
        self.applyFilters("none");
      });
    }
  };

  // The fiscal year an address shows: its chosen round's, ?fy= or ?fiscal_year=, else today's.
  Filters.yearOf = function (params) {
    return Number(params.get("fy") || params.get("fiscal_year")) || this.config.default_fiscal_year;
  };

  // The round selector: a round of the page's year recolours here (a new history entry); another
  // year, or none after one, is another page.
  Filters.bindRound = function () {
    var self = this, select = byId("f-round"), colour = byId("f-colour");
    if (!select) return;
    select.addEventListener("change", function () {
      var parts = select.value.split(":"), fy = Number(parts[0]) || null, round = Number(parts[1]) || null;
      var params = new URLSearchParams(window.location.search);
      if ((fy || self.config.default_fiscal_year) !== self.config.fiscal_year ||
          (!fy && self.yearOf(params) !== self.config.default_fiscal_year)) {
        ["fy", "round", "fiscal_year", "bp", "colour"].forEach(function (k) { params.delete(k); });
        if (fy) { params.set("fy", fy); params.set("round", round); }
        window.location.assign(window.location.pathname + (params.toString() ? "?" + params : ""));
        return;
      }
      self.state.round = round;
      self.nameRound();
      if (colour && round && colour.value === "kind") colour.value = "progress";
      self.writeAddress("push");
      self.setColourMode(colour ? colour.value : "kind").catch(function (e) { console.warn("colour:", e.message); });
    });
  };

  // Labels naming the fiscal year name the chosen round instead: data-round holds the label
  // with "%(round)s", data-year the year's (from the page, or kept here before the first change).
  Filters.nameRound = function () {
    var picked = byId("f-round"), round = this.state.round && picked && picked.selectedIndex > 0 ?
      picked.options[picked.selectedIndex].text : "";
    Array.prototype.forEach.call(document.querySelectorAll("#map-panel [data-round]"), function (o) {
      if (!o.hasAttribute("data-year")) o.setAttribute("data-year", o.label);
      o.label = round ? fmt(o.getAttribute("data-round"), { round: round }) : o.getAttribute("data-year");
    });
  };

  Object.keys(Filters).forEach(function (k) { window.PinMap[k] = Filters[k]; });
})();
