-- compose.yaml: one database per service (no service reads another's database, DESIGN.md §2), each owned by
-- its own role. The passwords here are PLACEHOLDERS for a local trial: change them (and the URLs in
-- compose.yaml) before anything real touches this server.
CREATE ROLE referral LOGIN PASSWORD 'change-me-referral';
CREATE ROLE caseload LOGIN PASSWORD 'change-me-caseload';
CREATE ROLE notify   LOGIN PASSWORD 'change-me-notify';
CREATE ROLE web      LOGIN PASSWORD 'change-me-web';
CREATE ROLE insights LOGIN PASSWORD 'change-me-insights';
CREATE DATABASE referral OWNER referral;
CREATE DATABASE caseload OWNER caseload;
CREATE DATABASE notify   OWNER notify;
CREATE DATABASE web      OWNER web;
CREATE DATABASE insights OWNER insights;
