SELECT (-((-"obsportal"."exposures"."target_dec"))) FROM "obsportal"."exposures"
