"""Domain services: functions that take a SQLAlchemy session first, add and flush, never commit."""
