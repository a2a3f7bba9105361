SELECT (("obsportal"."exposures"."exp_mjd_end" * 24.0) - ("obsportal"."exposures"."exp_mjd_start" * 24.0)) AS "hours" FROM "obsportal"."exposures"
