"""Outbound SMS: the outbox, the worker that sends it, and reconciliation with Twilio."""
