SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" WHERE ((NOT ("obsportal"."exposures"."exp_seeing" > 1)) AND (NOT ("obsportal"."exposures"."obs_type" = 'calibrator')))
