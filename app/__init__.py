"""swescribe HTTP API. Never imports torch, faster-whisper or pyannote: it enqueues work by name."""
