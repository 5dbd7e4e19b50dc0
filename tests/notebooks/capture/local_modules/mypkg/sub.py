import attr
from . import __name__ as _n
thing = 1
