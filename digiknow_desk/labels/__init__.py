"""QR labels: label stocks described as data, QR encoding and label-sheet PDFs (reportlab; no Qt)."""
