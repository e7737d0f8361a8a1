"""The `stoplist` command's groups beside serving: accounts and tokens, and the audit trail."""
