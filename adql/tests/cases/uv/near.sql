SELECT "b"."exp_id" FROM "obsportal"."baselines" AS "b" WHERE obsportal.uv_near("b"."u_start", "b"."v_start", "b"."u_end", "b"."v_end", 40.5::float8, (-20), 5)
