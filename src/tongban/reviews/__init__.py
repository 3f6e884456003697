"""好差评: citizens' ratings of services, negative-review cases and review metrics."""
