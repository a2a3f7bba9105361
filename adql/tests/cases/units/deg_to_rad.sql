SELECT ("obsportal"."exposures"."target_ra" * 0.017453292519943295) FROM "obsportal"."exposures"
