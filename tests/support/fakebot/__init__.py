"""The fake Bot API now lives in the product, :mod:`bot.sandbox.botapi` (``duban sandbox`` serves it); the
modules of this package are the same module objects under their old names, for tests that import them here."""
