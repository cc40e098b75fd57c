"""Public pages (read-only, Thai first). The one blueprint with no prefix: it owns every
top-level address no other blueprint's prefix claims.

map_page (/ and /lang), offices (/offices, /offices/<code>), best_practices (/best-practices),
photos (/photos), exports (/exports), redirects (old top-level coaching addresses), basemap
(/basemap: the embedded map background); mapview builds the folium maps every blueprint draws.
"""

from flask import Blueprint

bp = Blueprint("public", __name__)

from . import basemap, best_practices, exports, levels, map_page, offices, photos, redirects  # noqa: E402,F401
