"""Flask extension instances, created unbound and initialised in create_app."""

from flask_babel import Babel
from flask_compress import Compress

babel = Babel()
compress = Compress()
