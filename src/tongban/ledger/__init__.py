"""专项台账: ledgers defined as data (YAML types), their items, one entry per org and item,
the figures imported per month, and the metrics they feed (a feeder like the others)."""
