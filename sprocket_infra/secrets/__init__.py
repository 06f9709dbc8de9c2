"""Secrets: the manifest of what lives where in Vault, and the bootstrap that fills it from outside."""
