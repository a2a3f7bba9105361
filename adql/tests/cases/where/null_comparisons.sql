SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" WHERE (("obsportal"."exposures"."exp_seeing" IS NULL) OR ("obsportal"."exposures"."exp_tau0" IS NOT NULL))
