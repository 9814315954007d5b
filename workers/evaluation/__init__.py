"""Accuracy measurement: text normalization for scoring and WER over manifests."""
