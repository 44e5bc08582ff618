"""Printed documents and reports: pure functions that turn records into PDFs (reportlab); no Qt."""
