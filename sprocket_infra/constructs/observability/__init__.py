"""Observability services of layer2: Loki (logs), Alloy (log shipping), Telegraf (metrics), Gatus (status)."""
