#!/usr/bin/env bash
# Copies the npm-installed front-end assets (package-lock.json) into static/vendor, so every page
# loads Leaflet, markercluster, jQuery, topojson-client (decodes the basemap) and the Sarabun font
# from our own server.
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
rm -rf "$out" && mv "$out.tmp" "$out"
