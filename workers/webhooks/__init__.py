"""Webhook delivery to case-handling systems (Standard Webhooks): signing, URL safety, retry
policy. The delivery records, the sending task and the HTTP routes build on these."""
