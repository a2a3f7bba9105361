SELECT coalesce("obsportal"."exposures"."obs_program", 'unknown') FROM "obsportal"."exposures"
