"""Coverscope: which problems can a model solve at all, given enough tries?"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("coverscope")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
