SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" WHERE ("obsportal"."exposures"."target_name" NOT ILIKE 'hip%')
