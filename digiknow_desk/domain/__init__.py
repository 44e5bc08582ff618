"""Plain-Python records, enums and rules of the lending library; no database, no Qt."""
