-- Whom an async job's stored upload counts against (its owner, or for an anonymous job the
-- client's address): the uploads of one holder's unfinished jobs are capped, so that creating
-- jobs without running them cannot fill the database.
ALTER TABLE obsportal.job_upload ADD COLUMN holder text NOT NULL DEFAULT '';
CREATE INDEX job_upload_holder ON obsportal.job_upload (holder);
