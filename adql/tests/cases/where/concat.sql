SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" WHERE ((("obsportal"."exposures"."instrument_name" || '/') || "obsportal"."exposures"."instrument_mode") = 'GRAVITY/MEDIUM-SPLIT')
