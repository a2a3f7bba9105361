SELECT "obsportal"."baselines"."exp_id", (obsportal.angle_within("obsportal"."baselines"."angle_start", 170, 10))::integer AS "near_north_south" FROM "obsportal"."baselines"
