#!/usr/bin/env bash
# Copies the npm-installed front-end assets (package-lock.json) into static/vendor, so every page
# loads Leaflet, markercluster, jQuery, topojson-client (decodes the basemap) and the Sarabun font
# from our own server; also builds the national map's one minified script.
set -euo pipefail
cd "$(dirname "$0")/.."
out=static/vendor
rm -rf "$out.tmp" && mkdir -p "$out.tmp"/{jquery,topojson-client,sarabun/files}
cp -r node_modules/leaflet/dist "$out.tmp/leaflet"
cp -r node_modules/leaflet.markercluster/dist "$out.tmp/leaflet.markercluster"
cp node_modules/jquery/dist/jquery.min.js "$out.tmp/jquery/"
cp node_modules/topojson-client/dist/topojson-client.min.js node_modules/topojson-client/LICENSE \
  "$out.tmp/topojson-client/"
font=node_modules/@fontsource/sarabun
# Regular and semibold are all the pages use; other weights would only add bytes.
cat "$font/400.css" "$font/600.css" > "$out.tmp/sarabun/sarabun.css"
cp "$font"/files/sarabun-{thai,latin,latin-ext}-{400,600}-normal.woff2 "$out.tmp/sarabun/files/"
cp "$font"/files/sarabun-{thai,latin,latin-ext}-{400,600}-normal.woff "$out.tmp/sarabun/files/"
cp "$font/LICENSE" "$out.tmp/sarabun/LICENSE"
# The national map's scripts in one minified file (pinmap/public/mapview.py, MAP_BUNDLE): Leaflet,
# markercluster, topojson-client and our own map scripts, in the order the page ran them apart.
# terser is pinned in package.json; the readable sources stay in static/js.
mkdir -p "$out.tmp/pinmap"
node_modules/.bin/terser \
  node_modules/leaflet/dist/leaflet.js \
  node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
  node_modules/topojson-client/dist/topojson-client.min.js \
  static/js/basemap.js static/js/pinmap.js static/js/map-filters.js \
  --compress --mangle --comments false \
  --source-map "url='map.min.js.map',includeSources" \
  --output "$out.tmp/pinmap/map.min.js"
# Its style sheets likewise (csso, pinned; no restructuring, only whitespace and comments go),
# beside a copy of Leaflet's images, which leaflet.css names by relative URL.
node -e '
  const { minify } = require("csso");
  const fs = require("fs");
  const [out, ...files] = process.argv.slice(1);
  const css = files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
  fs.writeFileSync(out, minify(css, { restructure: false }).css + "\n");
' "$out.tmp/pinmap/map.min.css" node_modules/leaflet/dist/leaflet.css \
  node_modules/leaflet.markercluster/dist/MarkerCluster.css
cp -r node_modules/leaflet/dist/images "$out.tmp/pinmap/images"
rm -rf "$out" && mv "$out.tmp" "$out"
