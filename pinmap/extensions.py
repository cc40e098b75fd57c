"""Flask extension instances, created unbound and initialised in create_app."""

from flask_babel import Babel
from flask_compress import Compress
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

babel = Babel()
compress = Compress()
login_manager = LoginManager()
csrf = CSRFProtect()
