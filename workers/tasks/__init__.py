"""Celery tasks: thin adapters from a message (a job id) to the job runner."""
