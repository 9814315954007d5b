"""Task and queue names: what the API, the ingester and the workers agree on.

A module with no side effects (importing workers.tasks.celery_app builds the Celery app from the
settings), so the API can name tasks without loading anything else.
"""

TRANSCRIBE_TASK = "swescribe.transcribe"
DELIVER_WEBHOOK_TASK = "swescribe.deliver_webhook"
# Summaries run on the cpu queue: the GPU queue never waits for the LLM.
SUMMARIZE_TASK = "swescribe.summarize"
GPU_QUEUE = "gpu"
CPU_QUEUE = "cpu"
