SELECT ("obsportal"."exposures"."target_dec" * 1.0) FROM "obsportal"."exposures"
