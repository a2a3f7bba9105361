SELECT coalesce("obsportal"."exposures"."exp_seeing", (-1)) AS "seeing" FROM "obsportal"."exposures"
