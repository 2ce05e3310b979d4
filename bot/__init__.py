"""Wiring: the PTB Application (``bot.app``), running it in production (``bot.serve``), the ``duban`` command
line (``bot.cli``), and the logs and metrics all three use (``bot.logs``, ``bot.metrics``).

    bot.cli → bot.serve → bot.app → bot.logs, bot.metrics   (and everything below bot: handlers, services, …)
"""
