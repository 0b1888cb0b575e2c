"""A strike fund: double-entry accounts in exact integer amounts, per currency, whose
entries are signed events checked by every replica. See docs/fund.md."""
