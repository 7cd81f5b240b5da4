"""kzreport: one YAML source of an analytical argument -> a PDF briefing, a slide deck and pipeline maps."""

__version__ = "0.1.0"
