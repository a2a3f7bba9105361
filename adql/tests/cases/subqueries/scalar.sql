SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" WHERE ("obsportal"."exposures"."exp_seeing" < (SELECT avg("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"))
