SELECT abs("obsportal"."exposures"."target_dec"), sqrt("obsportal"."exposures"."exp_tau0") FROM "obsportal"."exposures"
