"""swescribe workers: the transcription pipeline, its CLI, and (later) the Celery tasks."""
