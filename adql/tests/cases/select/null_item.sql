SELECT NULL AS "nothing" FROM "obsportal"."exposures"
