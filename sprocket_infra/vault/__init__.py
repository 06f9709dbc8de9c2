"""Vault: the declarative description of mounts and policies, and applying it to a live server."""
