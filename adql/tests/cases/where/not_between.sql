SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" WHERE ("obsportal"."exposures"."exp_mjd_start" NOT BETWEEN 58000 AND 59000)
