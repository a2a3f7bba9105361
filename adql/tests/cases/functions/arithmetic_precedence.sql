SELECT ((1 + (2 * 3)) - (4 / 2)) FROM "obsportal"."exposures"
