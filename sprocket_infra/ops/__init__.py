"""Operator tasks run against a deployed environment: status checks, backups and restores.

Each module does one job and is plain Python; ``sprocket_infra.cli`` only wires options to them. What an
environment *should* look like is read from the same objects the stacks build (:mod:`.expected`), never
from a list kept by hand.
"""
