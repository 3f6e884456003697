"""Assessment: schemes, metric values, adjustments, score sheets, ranking, analysis, imports."""
