SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" WHERE (upper("obsportal"."exposures"."target_name") = 'HD 45677')
