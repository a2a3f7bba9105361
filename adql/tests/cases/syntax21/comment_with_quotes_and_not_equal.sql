SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" WHERE ("obsportal"."exposures"."exp_id" <> 'x')
