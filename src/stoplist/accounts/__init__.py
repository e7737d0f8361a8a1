"""Subusers and access tokens over HTTP (scope `accounts`), each change an event on the parent's trail."""
