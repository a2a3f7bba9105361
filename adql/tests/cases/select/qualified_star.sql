SELECT "o"."obs_id", "o"."target_name", "o"."s_ra", "o"."s_dec", "o"."t_min", "o"."t_max", "o"."instrument_name", "o"."em_min", "o"."em_max", "o"."s_region" FROM "ivoa"."obscore" AS "o"
