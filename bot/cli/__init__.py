"""The ``duban`` command line: one module per group of subcommands, the parser and main (``main``), the one
error family and its exit codes (``errors``).

May import: bot.serve, bot.app, bot.sandbox, bot.logs, bot.metrics.
"""
