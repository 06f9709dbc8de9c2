"""Reusable building blocks. This package lives under ``sprocket_infra`` on purpose: a top-level package
named ``constructs`` would shadow the ``constructs`` library that cdktf itself imports."""
