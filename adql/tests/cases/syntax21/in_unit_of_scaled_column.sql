SELECT ((2 * "obsportal"."exposures"."exp_seeing") * 1000.0000000000001) AS "twice_seeing" FROM "obsportal"."exposures"
