SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" WHERE ("obsportal"."exposures"."obs_type" <> 'x')
