# flask-smorest ships no types. Its abort is webargs' (typed: it never returns), so views that
# abort on a missing row need no check after it; every other name stays untyped (Any).
from typing import Any

from webargs.flaskparser import abort as abort

def __getattr__(name: str) -> Any: ...
