SELECT ("obsportal"."exposures"."exp_tau0" * 1000.0) AS "tau0_ms" FROM "obsportal"."exposures"
