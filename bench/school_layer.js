/* bench/school_layer.js: runs in the national map page for bench/school_layer.py (see there).
   Records long tasks, waits for the page to hand over its Leaflet map, then draws the SYNTHETIC
   schools the way window.__schoolBenchConfig names. */
(() => {
  if (window.top !== window) return;
  const cfg = window.__schoolBenchConfig;
  window.__long = [];
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) window.__long.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });

  const visible = () => document.querySelector(".school-bubble, .school-dots");
  const watchFirst = () => {
    if (visible()) { window.__firstPinsAt = performance.now(); return; }
    requestAnimationFrame(watchFirst);
  };
  requestAnimationFrame(watchFirst);

  const bubble = n => L.divIcon({
    className: "school-bubble", iconSize: [30, 30],
    html: '<span style="display:flex;width:30px;height:30px;border-radius:50%;background:#fff;' +
          'border:3px solid #6b4f9e;align-items:center;justify-content:center;font:700 11px sans-serif">' +
          (n >= 1000 ? Math.round(n / 100) / 10 + "k" : n) + "</span>" });

  // The data is asked for at once (as a <link rel=preload> would), not after the page's scripts.
  const inWorker = cfg.strategy === "supercluster-worker" || cfg.strategy === "overview+worker";
  const data = (cfg.strategy === "none" || inWorker) ? null : fetch(cfg.data).then(r => r.json()).then(payload => {
    if (!payload.synthetic) throw new Error("not the synthetic payload");
    window.__dataAt = performance.now();
    return payload.points;
  });
  const start = map => {
    window.__startedAt = performance.now();
    if (cfg.strategy === "none") {  // the page alone: what panning costs without any school
      window.__firstPinsAt = window.__allAt = performance.now();
      window.__settle = 450;
      return;
    }
    const ways = { "markercluster-chunked": markercluster, "supercluster-main": superMain,
                   "supercluster-worker": superWorker };
    if (withWorker) return superWorker(map);
    data.then(flat => ways[cfg.strategy](map, flat));
  };

  function markercluster(map, flat) {
    const icon = L.divIcon({ className: "school-pin", iconSize: [8, 8],
      html: '<span style="display:block;width:8px;height:8px;border-radius:50%;background:#6b4f9e"></span>' });
    const group = L.markerClusterGroup({
      chunkedLoading: true, chunkInterval: 40, chunkDelay: 20, maxClusterRadius: 60,
      showCoverageOnHover: false, iconCreateFunction: c => bubble(c.getChildCount()),
      chunkProgress: (done, total) => { if (done === total) window.__allAt = performance.now(); },
    });
    map.addLayer(group);
    const markers = [];
    for (let i = 0; i < flat.length; i += 2) markers.push(L.marker([flat[i + 1], flat[i]], { icon }));
    group.addLayers(markers);
    window.__settle = 450;  // markercluster animates each zoom for 300 ms
  }

  // One drawing for both supercluster ways: bubbles as divIcons, single schools as canvas dots.
  // Layers are kept by key between draws: a pan redraws only what came into or left the view.
  function drawer(map) {
    const renderer = L.canvas({ padding: 0.2 });
    const layer = L.layerGroup().addTo(map);
    let shown = new Map();
    return clusters => {
      const next = new Map();
      for (const c of clusters) {
        const [lon, lat] = c.geometry.coordinates, p = c.properties;
        const key = p.cluster ? "c" + (p.cluster_id !== undefined ? p.cluster_id : lon + "," + lat) + ":" + p.point_count
                              : "p" + lon + "," + lat;
        let l = shown.get(key);
        if (!l) {
          l = p.cluster ? L.marker([lat, lon], { icon: bubble(p.point_count) })
            : L.circleMarker([lat, lon], { renderer, radius: 3, weight: 1, color: "#fff", fillColor: "#6b4f9e", fillOpacity: 1 });
          layer.addLayer(l);
        }
        next.set(key, l);
      }
      for (const [key, l] of shown) if (!next.has(key)) layer.removeLayer(l);
      shown = next;
      if (renderer._container) renderer._container.classList.add("school-dots");
      window.__drawn = (window.__drawn || 0) + 1;
    };
  }

  const bbox = map => { const b = map.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; };

  function toFeatures(flat) {
    const out = new Array(flat.length / 2);
    for (let i = 0; i < flat.length; i += 2)
      out[i / 2] = { type: "Feature", properties: {}, geometry: { type: "Point", coordinates: [flat[i], flat[i + 1]] } };
    return out;
  }

  function superMain(map, flat) {
    const draw = drawer(map);
    const index = new Supercluster({ radius: 60, maxZoom: 16 }).load(toFeatures(flat));
    const update = () => draw(index.getClusters(bbox(map), Math.round(map.getZoom())));
    map.on("moveend", update);
    update();
    window.__allAt = performance.now();
    window.__settle = 150;
  }

  // The worker is started as soon as the data is here; only drawing waits for the map.
  let workerReady = null;
  // The worker fetches and parses the points itself: the page's thread never holds them.
  function startWorker() {
    workerReady = fetch(cfg.lib).then(r => r.text()).then(lib => new Promise(done => {
      const worker = new Worker(URL.createObjectURL(new Blob([lib, "\n", WORKER], { type: "text/javascript" })));
      worker.onmessage = e => {
        if (e.data.ready) { window.__dataAt = e.data.dataAt; window.__allAt = performance.now(); done(worker); }
      };
      worker.postMessage({ url: location.origin + cfg.data });
    }));
  }
  const WORKER = "let index; onmessage = e => {" +
      " if (e.data.url) fetch(e.data.url).then(r => r.json()).then(p => {" +
      "   if (!p.synthetic) throw new Error('not the synthetic payload');" +
      "   const f = p.points, out = [];" +
      "   for (let i = 0; i < f.length; i += 2) out.push({type:'Feature',properties:{},geometry:{type:'Point',coordinates:[f[i],f[i+1]]}});" +
      "   index = new Supercluster({radius: 60, maxZoom: 16}).load(out); postMessage({ready: true}); });" +
      " else postMessage({seq: e.data.seq, clusters: index.getClusters(e.data.bbox, e.data.zoom)}); };";
  const withWorker = cfg.strategy === "supercluster-worker" || cfg.strategy === "overview+worker";
  if (withWorker) startWorker();
  // A coarse overview the server would aggregate (one bubble a grid cell), drawn until the
  // worker's index is ready.
  const overview = cfg.strategy === "overview+worker" ? fetch(cfg.overview).then(r => r.json()) : null;

  function superWorker(map) {
    const draw = drawer(map);
    let seq = 0;
    if (overview) overview.then(o => {
      if (!o.synthetic || seq) return;  // the real clusters came first
      draw(o.cells.map(([lon, lat, n]) => ({ geometry: { coordinates: [lon, lat] },
                                            properties: n > 1 ? { cluster: true, point_count: n } : {} })));
    });
    workerReady.then(worker => {
      const ask = () => worker.postMessage({ seq: ++seq, bbox: bbox(map), zoom: Math.round(map.getZoom()) });
      worker.onmessage = e => { if (e.data.seq === seq) draw(e.data.clusters); };  // old views dropped
      map.on("moveend", ask);
      ask();
    });
    window.__settle = 200;
  }

  const wait = () => {
    const pm = window.PinMap;
    if (pm && pm.layers && pm.layers.map && window.L && (cfg.strategy !== "supercluster-main" || window.Supercluster))
      return start(pm.layers.map);
    requestAnimationFrame(wait);
  };
  if (cfg.strategy === "supercluster-main") {
    document.addEventListener("DOMContentLoaded", () => {
      const s = document.createElement("script");
      s.src = cfg.lib;
      document.head.appendChild(s);
    });
  }
  requestAnimationFrame(wait);

  // After the layer is drawn: zoom in on Bangkok step by step, pan around, zoom back out. Each
  // step waits for the map's moveend and the way's settle time (its animation or redraw).
  window.__interact = async () => {
    const map = PinMap.layers.map, settle = window.__settle || 300;
    const pause = ms => new Promise(r => setTimeout(r, ms));
    const moved = f => new Promise(r => { map.once("moveend", r); f(); });
    window.__long = [];
    const t0 = performance.now();
    for (const z of [7, 8, 9, 10]) { await moved(() => map.setView([13.75, 100.5], z)); await pause(settle); }
    for (const d of [[300, 0], [0, 300], [-300, 0], [0, -300]]) { await moved(() => map.panBy(d)); await pause(settle); }
    for (const z of [9, 7, 6]) { await moved(() => map.setZoom(z)); await pause(settle); }
    return { ms: performance.now() - t0, long: window.__long };
  };
})();
