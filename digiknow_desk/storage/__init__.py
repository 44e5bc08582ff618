"""SQLAlchemy models, the engine and the migration runner."""
