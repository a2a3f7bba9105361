SELECT CAST('2020-01-09T12:00:00' AS timestamp) FROM "obsportal"."exposures"
