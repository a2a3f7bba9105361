SELECT (max("obsportal"."exposures"."exp_mjd_end") - min("obsportal"."exposures"."exp_mjd_start")) AS "span" FROM "obsportal"."exposures"
