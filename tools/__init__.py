"""Build helpers for the engines and servers the tests run (not part of the product package)."""
