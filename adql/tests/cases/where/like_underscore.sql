SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" WHERE ("obsportal"."exposures"."interferometer_stations" LIKE 'U_ U_ U_ U_')
