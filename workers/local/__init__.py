"""Processes swescribe starts on this machine for the local stack: a Redis when none answers,
free loopback ports for them and for the embedded LLM server."""
