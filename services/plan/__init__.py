"""The year's plan (目标体系): the workbook's format (``spec``), reading and writing it (``workbook``),
checks against the database (``validate``, ``state``), applying it (``apply``, ``prune``, ``importer``),
exporting it (``export``), reading its rows together (``rows``), and values in a target's measure:
"350万" on a target in 万元 (``values``).

May import: services.core.
"""
