from .sub import thing
