"""The speech pipeline as plain functions: decode_audio -> transcribe -> output formats.

Imports neither Celery, FastAPI, Redis nor the settings: the CLI, the workers and the tests
call the same functions with explicit options.
"""
