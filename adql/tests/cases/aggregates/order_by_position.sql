SELECT "obsportal"."exposures"."instrument_name", sum("obsportal"."exposures"."exp_tau0") FROM "obsportal"."exposures" GROUP BY "obsportal"."exposures"."instrument_name" ORDER BY 2 DESC
