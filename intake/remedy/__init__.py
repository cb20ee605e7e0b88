"""Remedies and what workers say about them: check-back surveys and their answers."""
