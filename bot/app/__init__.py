"""The PTB Application of one county: built with its dependencies (``build``), its persistence of conversation
states (``persistence``), the per-chat update processor (``processor``), the rate limiter (``ratelimit``),
the outbox's delivery worker (``delivery``), the scheduler tick (``jobs``) and the bot's username
(``identity``).

May import: bot.logs, bot.metrics.
"""
