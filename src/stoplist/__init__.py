"""Stoplist: a self-hosted, SMSAPI-compatible blacklist service."""

__version__ = "0.1.0"
