SELECT CAST(mod(CAST("obsportal"."exposures"."obs_id" AS numeric), CAST(3 AS numeric)) AS double precision) FROM "obsportal"."exposures"
