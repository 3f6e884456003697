"""督办: 催办 (urging) and 批示 (a leader's instruction) on any case or task."""
