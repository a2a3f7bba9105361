SELECT ((max("obsportal"."exposures"."exp_mjd_end") - min("obsportal"."exposures"."exp_mjd_start")) * 24.0) AS "hours" FROM "obsportal"."exposures"
