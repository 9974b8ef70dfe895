-- A store made by the last release before Alembic (schema version 3): account tok-old,
-- license LIC-OLD, camera OLD1 whose tags were assigned as mid, zeta, alpha (rowid order).
BEGIN TRANSACTION;
CREATE TABLE accounts (
	id INTEGER NOT NULL, 
	products TEXT NOT NULL, 
	rate_limit_per_second FLOAT, 
	created_us INTEGER NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "accounts" VALUES(1,'["parkpow", "visionalert"]',1.0,1795945479000000);
CREATE TABLE clock (
	id INTEGER NOT NULL, 
	frozen_us INTEGER, 
	offset_us INTEGER DEFAULT 0 NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "clock" VALUES(1,1775831400000000,0);
CREATE TABLE faults (
	id INTEGER NOT NULL, 
	spec TEXT NOT NULL, 
	remaining INTEGER, 
	hits INTEGER DEFAULT 0 NOT NULL, 
	created_us INTEGER NOT NULL, 
	seen INTEGER DEFAULT 0 NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE image_analysis (
	sha256 VARCHAR NOT NULL, 
	width INTEGER NOT NULL, 
	height INTEGER NOT NULL, 
	scores TEXT NOT NULL, 
	signature TEXT NOT NULL, 
	PRIMARY KEY (sha256)
);
CREATE TABLE jobs (
	id INTEGER NOT NULL, 
	kind VARCHAR NOT NULL, 
	"key" VARCHAR, 
	due_us INTEGER NOT NULL, 
	payload TEXT DEFAULT '{}' NOT NULL, 
	lease_until FLOAT, 
	attempts INTEGER DEFAULT 0 NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE ("key")
);
CREATE TABLE media (
	id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	sha256 VARCHAR NOT NULL, 
	content_type VARCHAR NOT NULL, 
	size INTEGER NOT NULL, 
	kind VARCHAR NOT NULL, 
	created_us INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);
CREATE TABLE meta (
	"key" VARCHAR NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY ("key")
);
INSERT INTO "meta" VALUES('schema_version','3');
INSERT INTO "meta" VALUES('initialized','1');
CREATE TABLE pp_cameras (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	parking_id INTEGER NOT NULL, 
	code VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	type VARCHAR NOT NULL, 
	notes TEXT, 
	longitude FLOAT, 
	latitude FLOAT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_pp_camera UNIQUE (account_id, code), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE, 
	FOREIGN KEY(parking_id) REFERENCES pp_parkings (id) ON DELETE CASCADE
);
CREATE TABLE pp_parkings (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	parking_spaces INTEGER DEFAULT 0 NOT NULL, 
	absent_timer INTEGER DEFAULT 3 NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_pp_parking UNIQUE (account_id, name), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE TABLE pp_vehicles (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	license_plate VARCHAR NOT NULL, 
	payment_status VARCHAR, 
	field1 TEXT, 
	field2 TEXT, 
	field3 TEXT, 
	field4 TEXT, 
	field5 TEXT, 
	field6 TEXT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_pp_vehicle UNIQUE (account_id, license_plate), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE TABLE pp_visits (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	parking_id INTEGER NOT NULL, 
	license_plate VARCHAR NOT NULL, 
	open BOOLEAN NOT NULL, 
	start_cam_id INTEGER, 
	end_cam_id INTEGER, 
	start_media_id INTEGER, 
	end_media_id INTEGER, 
	start_us INTEGER NOT NULL, 
	end_us INTEGER, 
	last_seen_us INTEGER NOT NULL, 
	start_prediction TEXT, 
	end_prediction TEXT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE, 
	FOREIGN KEY(parking_id) REFERENCES pp_parkings (id) ON DELETE CASCADE, 
	FOREIGN KEY(start_cam_id) REFERENCES pp_cameras (id), 
	FOREIGN KEY(end_cam_id) REFERENCES pp_cameras (id), 
	FOREIGN KEY(start_media_id) REFERENCES media (id), 
	FOREIGN KEY(end_media_id) REFERENCES media (id)
);
CREATE TABLE settings (
	"key" VARCHAR NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY ("key")
);
CREATE TABLE throttles (
	account_id INTEGER NOT NULL, 
	scope VARCHAR NOT NULL, 
	history TEXT NOT NULL, 
	PRIMARY KEY (account_id, scope), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE TABLE tokens (
	token VARCHAR NOT NULL, 
	account_id INTEGER NOT NULL, 
	PRIMARY KEY (token), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
INSERT INTO "tokens" VALUES('tok-old',1);
CREATE TABLE va_alert_cameras (
	id INTEGER NOT NULL, 
	alert_id INTEGER NOT NULL, 
	serial VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	anomalies TEXT DEFAULT '{}' NOT NULL, 
	snapshot_id INTEGER, 
	reference_media_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(alert_id) REFERENCES va_alerts (id) ON DELETE CASCADE, 
	FOREIGN KEY(snapshot_id) REFERENCES media (id), 
	FOREIGN KEY(reference_media_id) REFERENCES media (id)
);
CREATE TABLE va_alerts (
	id INTEGER NOT NULL, 
	license_id INTEGER NOT NULL, 
	sent BOOLEAN DEFAULT 0 NOT NULL, 
	emitted BOOLEAN DEFAULT 0 NOT NULL, 
	opened_us INTEGER NOT NULL, 
	created_us INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(license_id) REFERENCES va_licenses (id) ON DELETE CASCADE
);
CREATE TABLE va_camera_tags (
	camera_id INTEGER NOT NULL, 
	tag_id INTEGER NOT NULL, 
	PRIMARY KEY (camera_id, tag_id), 
	FOREIGN KEY(camera_id) REFERENCES va_cameras (id) ON DELETE CASCADE, 
	FOREIGN KEY(tag_id) REFERENCES va_tags (id) ON DELETE CASCADE
);
INSERT INTO "va_camera_tags" VALUES(1,3);
INSERT INTO "va_camera_tags" VALUES(1,1);
INSERT INTO "va_camera_tags" VALUES(1,2);
CREATE TABLE va_cameras (
	id INTEGER NOT NULL, 
	license_id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	serial VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	notes TEXT DEFAULT '' NOT NULL, 
	latest_status VARCHAR, 
	thresholds TEXT DEFAULT '{}' NOT NULL, 
	reference_id INTEGER, 
	last_accepted_us INTEGER, 
	created_us INTEGER NOT NULL, 
	modified_us INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_va_camera_serial UNIQUE (account_id, serial), 
	FOREIGN KEY(license_id) REFERENCES va_licenses (id) ON DELETE CASCADE, 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
INSERT INTO "va_cameras" VALUES(1,1,1,'OLD1','Old cam','',NULL,'{}',NULL,NULL,1795945479000000,1795945479000000);
CREATE TABLE va_deliveries (
	id INTEGER NOT NULL, 
	alert_id INTEGER NOT NULL, 
	channel VARCHAR NOT NULL, 
	target VARCHAR NOT NULL, 
	attempt INTEGER NOT NULL, 
	ok BOOLEAN NOT NULL, 
	status_code INTEGER, 
	error TEXT, 
	at_us INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(alert_id) REFERENCES va_alerts (id) ON DELETE CASCADE
);
CREATE TABLE va_forced_scores (
	id INTEGER NOT NULL, 
	camera_id INTEGER NOT NULL, 
	scores TEXT, 
	"fail" BOOLEAN DEFAULT 0 NOT NULL, 
	remaining INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(camera_id) REFERENCES va_cameras (id) ON DELETE CASCADE
);
CREATE TABLE va_licenses (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	code VARCHAR NOT NULL, 
	size INTEGER NOT NULL, 
	va_type VARCHAR NOT NULL, 
	expiration_us INTEGER NOT NULL, 
	webhook_url VARCHAR, 
	notify_email VARCHAR, 
	created_us INTEGER NOT NULL, 
	modified_us INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE, 
	UNIQUE (code)
);
INSERT INTO "va_licenses" VALUES(1,1,'LIC-OLD',5,'meraki',1799971200000000,NULL,NULL,1795945479000000,1795945479000000);
CREATE TABLE va_logs (
	id INTEGER NOT NULL, 
	license_id INTEGER NOT NULL, 
	camera_id INTEGER NOT NULL, 
	upload_id INTEGER, 
	status VARCHAR NOT NULL, 
	anomalies TEXT DEFAULT '{}' NOT NULL, 
	scores TEXT DEFAULT '{}' NOT NULL, 
	snapshot_id INTEGER, 
	tag VARCHAR, 
	created_us INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(license_id) REFERENCES va_licenses (id) ON DELETE CASCADE, 
	FOREIGN KEY(camera_id) REFERENCES va_cameras (id) ON DELETE CASCADE, 
	UNIQUE (upload_id), 
	FOREIGN KEY(snapshot_id) REFERENCES media (id)
);
CREATE TABLE va_outbox (
	id INTEGER NOT NULL, 
	alert_id INTEGER NOT NULL, 
	"to" VARCHAR NOT NULL, 
	subject TEXT NOT NULL, 
	body TEXT NOT NULL, 
	at_us INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(alert_id) REFERENCES va_alerts (id) ON DELETE CASCADE
);
CREATE TABLE va_references (
	id INTEGER NOT NULL, 
	camera_id INTEGER NOT NULL, 
	media_id INTEGER NOT NULL, 
	created_us INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(camera_id) REFERENCES va_cameras (id) ON DELETE CASCADE, 
	FOREIGN KEY(media_id) REFERENCES media (id)
);
CREATE TABLE va_tags (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_va_tag UNIQUE (account_id, name), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
INSERT INTO "va_tags" VALUES(1,1,'zeta');
INSERT INTO "va_tags" VALUES(2,1,'alpha');
INSERT INTO "va_tags" VALUES(3,1,'mid');
CREATE TABLE va_uploads (
	id INTEGER NOT NULL, 
	camera_id INTEGER NOT NULL, 
	media_id INTEGER NOT NULL, 
	uploaded_us INTEGER NOT NULL, 
	attempts INTEGER DEFAULT 0 NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(camera_id) REFERENCES va_cameras (id) ON DELETE CASCADE, 
	FOREIGN KEY(media_id) REFERENCES media (id)
);
CREATE INDEX ix_jobs_due ON jobs (due_us, id);
CREATE INDEX ix_media_sha ON media (sha256);
CREATE INDEX ix_va_licenses_account ON va_licenses (account_id, created_us);
CREATE INDEX ix_va_cameras_page ON va_cameras (license_id, created_us, id);
CREATE INDEX ix_va_alerts_page ON va_alerts (license_id, created_us, id);
CREATE INDEX ix_va_camera_tags_tag ON va_camera_tags (tag_id);
CREATE INDEX ix_va_logs_camera ON va_logs (camera_id, created_us, id);
CREATE INDEX ix_va_logs_status ON va_logs (license_id, status, created_us, id);
CREATE INDEX ix_va_logs_license ON va_logs (license_id, created_us, id);
CREATE INDEX ix_va_alert_cameras_alert ON va_alert_cameras (alert_id);
CREATE UNIQUE INDEX uq_pp_visits_open ON pp_visits (account_id, parking_id, license_plate) WHERE open = 1;
CREATE INDEX ix_pp_visits_start ON pp_visits (account_id, start_us, id);
COMMIT;
