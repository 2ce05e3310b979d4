"""SQLModel tables by domain (``core``, ``people``, ``plan``, ``progress``, ``inspection``, ``alerts``,
``calendar``, ``assessment``), their column helpers (``columns``) and types (``types``), the engine and
units of work (``db``), and Alembic migrations (``migrate``, ``migrations/``: add revisions, never edit
an applied one)."""
