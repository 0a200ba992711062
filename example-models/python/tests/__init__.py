"""Unit tests of the Python helpers and models, run by ``example-models/python/test``."""
