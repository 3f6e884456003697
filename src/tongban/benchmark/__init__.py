"""对标: other cities' catalogs, alignment of their items, the frontier and suggestions."""
