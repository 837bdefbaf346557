-- A new embedded store at the head revision (hullcheck.store.embedded runs it).
-- Generated from the models: python -m hullcheck.store.database > this file
CREATE TABLE actions (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR(255) NOT NULL, 
	command VARCHAR(64) NOT NULL, 
	host VARCHAR(128) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	object_id VARCHAR(255) NOT NULL, 
	name TEXT, 
	reason TEXT NOT NULL, 
	outcome VARCHAR(16) NOT NULL, 
	detail TEXT, 
	reclaim_bytes BIGINT, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_actions_at ON actions (at);
CREATE TABLE audit_checkpoints (
	host VARCHAR(128) NOT NULL, 
	size BIGINT NOT NULL, 
	note TEXT NOT NULL, 
	PRIMARY KEY (host, size)
);
CREATE TABLE audit_heads (
	host VARCHAR(128) NOT NULL, 
	size BIGINT NOT NULL, 
	frontier BLOB NOT NULL, 
	cursor BIGINT, 
	kept_from BIGINT, 
	kept_frontier BLOB, 
	kept_note TEXT, 
	PRIMARY KEY (host)
);
CREATE TABLE audit_records (
	host VARCHAR(128) NOT NULL, 
	seq BIGINT NOT NULL, 
	time VARCHAR(40) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	action VARCHAR(64) NOT NULL, 
	object_id VARCHAR(255) NOT NULL, 
	name TEXT, 
	actor TEXT, 
	context TEXT NOT NULL, 
	reconstructed BOOLEAN NOT NULL, 
	leaf BLOB NOT NULL, 
	PRIMARY KEY (host, seq)
);
CREATE INDEX ix_audit_records_object ON audit_records (host, object_id);
CREATE INDEX ix_audit_records_time ON audit_records (host, time);
CREATE TABLE audit_states (
	host VARCHAR(128) NOT NULL, 
	seq BIGINT NOT NULL, 
	taken VARCHAR(40) NOT NULL, 
	state TEXT NOT NULL, 
	PRIMARY KEY (host)
);
CREATE TABLE hosts (
	name VARCHAR(128) NOT NULL, 
	url TEXT NOT NULL, 
	tls_ca TEXT, 
	tls_cert TEXT, 
	tls_key TEXT, 
	timeout FLOAT NOT NULL, 
	added_at DATETIME NOT NULL, 
	synced_at DATETIME, 
	last_error TEXT, 
	PRIMARY KEY (name)
);
CREATE TABLE images (
	id VARCHAR(80) NOT NULL, 
	repo_tags JSON NOT NULL, 
	repo_digests JSON NOT NULL, 
	os VARCHAR(32), 
	architecture VARCHAR(32), 
	created VARCHAR(64), 
	distro VARCHAR(64), 
	scanner_key VARCHAR(32) NOT NULL, 
	scanned_at DATETIME NOT NULL, 
	sbom BLOB NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE inventory_documents (
	host VARCHAR(128) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	object_id VARCHAR(255) NOT NULL, 
	data BLOB NOT NULL, 
	PRIMARY KEY (host, kind, object_id)
);
CREATE TABLE layer_scans (
	diff_id VARCHAR(80) NOT NULL, 
	scanner_key VARCHAR(32) NOT NULL, 
	payload BLOB NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (diff_id, scanner_key)
);
CREATE TABLE vuln_feeds (
	name VARCHAR(255) NOT NULL, 
	url TEXT, 
	etag TEXT, 
	last_modified VARCHAR(64), 
	sha256 VARCHAR(64), 
	size BIGINT, 
	records INTEGER NOT NULL, 
	skipped INTEGER NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (name)
);
CREATE TABLE vuln_records (
	id VARCHAR(128) NOT NULL, 
	source VARCHAR(255) NOT NULL, 
	modified VARCHAR(40), 
	published VARCHAR(40), 
	summary TEXT, 
	aliases JSON NOT NULL, 
	upstream JSON NOT NULL, 
	related JSON NOT NULL, 
	severity VARCHAR(16) NOT NULL, 
	own_severity VARCHAR(16), 
	cvss_score FLOAT, 
	cvss_vector TEXT, 
	url TEXT, 
	imported_at DATETIME NOT NULL, 
	document BLOB NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_vuln_records_source ON vuln_records (source);
CREATE TABLE findings (
	id INTEGER NOT NULL, 
	image_id VARCHAR(80) NOT NULL, 
	vuln_id VARCHAR(128) NOT NULL, 
	advisories JSON NOT NULL, 
	severity VARCHAR(16) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	fixed_version VARCHAR(255), 
	ecosystem VARCHAR(64) NOT NULL, 
	package_name VARCHAR(255) NOT NULL, 
	package_version VARCHAR(255) NOT NULL, 
	package_type VARCHAR(32) NOT NULL, 
	purl TEXT NOT NULL, 
	matched_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(image_id) REFERENCES images (id) ON DELETE CASCADE
);
CREATE INDEX ix_findings_image ON findings (image_id);
CREATE INDEX ix_findings_vuln ON findings (vuln_id);
CREATE TABLE image_layers (
	image_id VARCHAR(80) NOT NULL, 
	idx INTEGER NOT NULL, 
	diff_id VARCHAR(80) NOT NULL, 
	digest VARCHAR(80), 
	size BIGINT, 
	created_by TEXT, 
	PRIMARY KEY (image_id, idx), 
	FOREIGN KEY(image_id) REFERENCES images (id) ON DELETE CASCADE
);
CREATE INDEX ix_image_layers_diff_id ON image_layers (diff_id);
CREATE TABLE inventory (
	host VARCHAR(128) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	object_id VARCHAR(255) NOT NULL, 
	name TEXT, 
	image_id VARCHAR(80), 
	state VARCHAR(32), 
	first_seen DATETIME NOT NULL, 
	last_seen DATETIME NOT NULL, 
	gone_at DATETIME, 
	summary TEXT, 
	PRIMARY KEY (host, kind, object_id), 
	FOREIGN KEY(host) REFERENCES hosts (name) ON DELETE CASCADE
);
CREATE INDEX ix_inventory_image_id ON inventory (image_id);
CREATE INDEX ix_inventory_kind ON inventory (kind, gone_at);
CREATE TABLE packages (
	id INTEGER NOT NULL, 
	image_id VARCHAR(80) NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	version VARCHAR(255) NOT NULL, 
	type VARCHAR(32) NOT NULL, 
	purl TEXT NOT NULL, 
	source_name VARCHAR(255), 
	distro VARCHAR(64), 
	path TEXT NOT NULL, 
	layer VARCHAR(80), 
	introduced_by VARCHAR(80), 
	PRIMARY KEY (id), 
	FOREIGN KEY(image_id) REFERENCES images (id) ON DELETE CASCADE
);
CREATE INDEX ix_packages_image ON packages (image_id);
CREATE INDEX ix_packages_name ON packages (name, type);
CREATE INDEX ix_packages_source ON packages (source_name, distro);
CREATE TABLE samples (
	id INTEGER NOT NULL, 
	host VARCHAR(128) NOT NULL, 
	container_id VARCHAR(255) NOT NULL, 
	taken_at FLOAT NOT NULL, 
	cpu_ns BIGINT, 
	memory_bytes BIGINT, 
	memory_limit BIGINT, 
	net_rx BIGINT, 
	net_tx BIGINT, 
	block_read BIGINT, 
	block_write BIGINT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(host) REFERENCES hosts (name) ON DELETE CASCADE
);
CREATE INDEX ix_samples_container ON samples (host, container_id, taken_at);
CREATE TABLE vuln_affected (
	id INTEGER NOT NULL, 
	record_id VARCHAR(128) NOT NULL, 
	ecosystem VARCHAR(64) NOT NULL, 
	eco_key VARCHAR(64) NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	scheme VARCHAR(16) NOT NULL, 
	fixed_key VARCHAR(1024) NOT NULL, 
	data JSON NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(record_id) REFERENCES vuln_records (id) ON DELETE CASCADE
);
CREATE INDEX ix_vuln_affected_key ON vuln_affected (eco_key, name, fixed_key);
CREATE INDEX ix_vuln_affected_record_id ON vuln_affected (record_id);
CREATE TABLE vuln_aliases (
	record_id VARCHAR(128) NOT NULL, 
	alias VARCHAR(128) NOT NULL, 
	PRIMARY KEY (record_id, alias), 
	FOREIGN KEY(record_id) REFERENCES vuln_records (id) ON DELETE CASCADE
);
CREATE INDEX ix_vuln_aliases_alias ON vuln_aliases (alias);
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
INSERT INTO alembic_version (version_num) VALUES ('0009');
