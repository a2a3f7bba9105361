SELECT abs("obsportal"."exposures"."target_dec"), sqrt("obsportal"."exposures"."exp_tau0"), lower("obsportal"."exposures"."target_name") FROM "obsportal"."exposures"
