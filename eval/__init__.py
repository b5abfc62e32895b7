"""Evaluation: datasets, metrics and the report. Thin over the library; no retrieval logic here."""
