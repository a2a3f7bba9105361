SELECT ("obsportal"."exposures"."target_dec" * 3600.0) FROM "obsportal"."exposures"
