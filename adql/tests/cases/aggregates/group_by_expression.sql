SELECT floor(("obsportal"."exposures"."exp_mjd_start" / 365.25::float8)) AS "yr", count(*) FROM "obsportal"."exposures" GROUP BY floor(("obsportal"."exposures"."exp_mjd_start" / 365.25::float8))
