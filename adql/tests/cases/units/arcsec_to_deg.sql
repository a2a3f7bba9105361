SELECT ("obsportal"."exposures"."exp_seeing" * 0.0002777777777777778) AS "seeing_deg" FROM "obsportal"."exposures"
