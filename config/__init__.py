"""Settings (``settings``), the one i18n layer (``i18n``, catalogues in ``locales/``), the assessment rules
file and the chart's font."""
