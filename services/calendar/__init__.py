"""The Chinese working-day calendar (``workdays``: holidays and 调休, the office's loaded schedules first,
plain weekends for unknown years) and loading a year's official schedule (``schedule``).

May import: services.core.
"""
