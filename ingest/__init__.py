"""Scheduled ingestion from reporting endpoints (clients, parsers, jobs, scheduler)."""
