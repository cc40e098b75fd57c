"""Pure geospatial functions on shapely / geopandas objects: no Flask, no sessions, no queries."""
