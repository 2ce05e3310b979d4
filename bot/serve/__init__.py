"""Running bots in production: one county or many per process (``runner``, ``counties``), each active in one
process at a time (``failover``), the web server of webhooks, /healthz and /metrics (``web``, ``webhook``),
backups (``backup``); errors of their own (``errors``).

May import: bot.app, bot.logs, bot.metrics.
"""
