"""Swedish summaries of transcripts by an LLM behind an OpenAI-compatible chat API.

Pure parts (prompt, chunking, grounding, rendering, schema) are separate from the HTTP
client and from the embedded llama.cpp server, so the worker, the CLI and the tests share them.
"""
