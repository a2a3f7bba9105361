SELECT (("obsportal"."exposures"."target_dec" * 60.0) * 60.0) FROM "obsportal"."exposures"
