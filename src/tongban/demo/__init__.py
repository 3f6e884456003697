"""A realistic demo city: 巴中市 with its counties, zones, departments, cohorts and users."""
