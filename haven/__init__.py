"""Haven: a static site generator for a calm, sourced, accessible health-information site."""

__version__ = "0.1.0"
