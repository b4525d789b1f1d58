#include "pg/pg_schema.hpp"

namespace cdeck::core {

namespace {

// Migration 1: every table, the roles and their grants, the desk functions.
constexpr const char* kMigration1 = R"SQL(
CREATE TABLE cdeck_schema (
  version integer PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);
-- One sequence orders every committed change; followers read by per-channel watermark.
CREATE SEQUENCE commit_seq;
CREATE TABLE teams (
  id text PRIMARY KEY,
  json text NOT NULL,
  seq bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE channels (
  id text PRIMARY KEY,
  team_id text NOT NULL,
  position integer NOT NULL,
  json text NOT NULL,
  seq bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE messages (
  channel_id text NOT NULL,
  id text NOT NULL,
  reply_to_id text,
  created_ms bigint NOT NULL,
  modified_ms bigint NOT NULL,
  deleted_ms bigint,
  etag text NOT NULL DEFAULT '',
  json text NOT NULL,
  seq bigint NOT NULL,
  PRIMARY KEY (channel_id, id)
);
CREATE INDEX messages_by_seq ON messages (channel_id, seq);
CREATE INDEX messages_roots ON messages (channel_id, created_ms DESC) WHERE reply_to_id IS NULL;
CREATE INDEX messages_replies ON messages (channel_id, reply_to_id) WHERE reply_to_id IS NOT NULL;
CREATE TABLE message_versions (
  channel_id text NOT NULL,
  id text NOT NULL,
  modified_ms bigint NOT NULL,
  etag text NOT NULL,
  content_type text NOT NULL,
  content text NOT NULL,
  PRIMARY KEY (channel_id, id, modified_ms, etag)
);
CREATE TABLE sync_state (
  channel_id text PRIMARY KEY,
  delta_link text,
  last_sync_ms bigint NOT NULL DEFAULT 0,
  backfilled boolean NOT NULL DEFAULT false,
  seq bigint NOT NULL
);
CREATE TABLE sync_node (
  node_id text PRIMARY KEY,
  host text NOT NULL DEFAULT '',
  version text NOT NULL DEFAULT '',
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL DEFAULT now() + interval '20 seconds',
  signed_in boolean NOT NULL DEFAULT false,
  last_commit_at timestamptz,
  last_commit_seq bigint NOT NULL DEFAULT 0
);
CREATE TABLE rule_packs (
  pack text NOT NULL,
  version integer NOT NULL,
  json text NOT NULL,
  enabled boolean NOT NULL DEFAULT false,
  published_at timestamptz NOT NULL DEFAULT now(),
  published_by text NOT NULL DEFAULT session_user,
  PRIMARY KEY (pack, version)
);
CREATE TABLE review_items (
  id bigserial PRIMARY KEY,
  message_id text NOT NULL,
  rule_id text NOT NULL,
  root_id text NOT NULL DEFAULT '',
  team_id text NOT NULL DEFAULT '',
  channel_id text NOT NULL DEFAULT '',
  rule_name text NOT NULL DEFAULT '',
  severity text NOT NULL DEFAULT '',
  reason text NOT NULL DEFAULT '',
  author_id text NOT NULL DEFAULT '',
  author_name text NOT NULL DEFAULT '',
  text text NOT NULL DEFAULT '',
  terms text NOT NULL DEFAULT '[]',
  group_key text NOT NULL DEFAULT '',
  created_ms bigint NOT NULL DEFAULT 0,
  flagged_at timestamptz NOT NULL DEFAULT now(),
  pack text NOT NULL DEFAULT '',
  pack_version integer NOT NULL DEFAULT 0,
  resolved boolean NOT NULL DEFAULT false,
  tag text NOT NULL DEFAULT '',
  comment text NOT NULL DEFAULT '',
  escalated boolean NOT NULL DEFAULT false,
  noticed boolean NOT NULL DEFAULT false,
  claimed_by text,
  claimed_account text,
  claim_expires timestamptz,
  seq bigint NOT NULL,
  UNIQUE (message_id, rule_id)
);
CREATE INDEX review_items_by_seq ON review_items (seq);
CREATE INDEX review_items_open ON review_items (flagged_at, id) WHERE NOT resolved;
CREATE TABLE audit_log (
  seq bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  db_user text NOT NULL DEFAULT session_user,
  actor text NOT NULL DEFAULT '',
  action text NOT NULL,
  team_id text NOT NULL DEFAULT '',
  channel_id text NOT NULL DEFAULT '',
  message_id text NOT NULL DEFAULT '',
  rule text NOT NULL DEFAULT '',
  result text NOT NULL DEFAULT '',
  request_id text NOT NULL DEFAULT '',
  detail text NOT NULL DEFAULT '',
  review_id bigint
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TABLE drafts (
  owner text NOT NULL DEFAULT session_user,
  key text NOT NULL,
  team_id text NOT NULL DEFAULT '',
  channel_id text NOT NULL DEFAULT '',
  reply_to_id text NOT NULL DEFAULT '',
  subject text NOT NULL DEFAULT '',
  body text NOT NULL DEFAULT '',
  updated_ms bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (owner, key)
);
ALTER TABLE drafts ENABLE ROW LEVEL SECURITY;
CREATE POLICY drafts_own ON drafts USING (owner = session_user) WITH CHECK (owner = session_user);

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'channeldeck_node') THEN
    CREATE ROLE channeldeck_node NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'channeldeck_desk') THEN
    CREATE ROLE channeldeck_desk NOLOGIN;
  END IF;
END $$;

-- Review actions by a desk: the caller must hold a live claim on the item.
CREATE FUNCTION desk_claimed_item(p_id bigint) RETURNS review_items
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE r review_items;
BEGIN
  SELECT * INTO r FROM review_items WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'review item % does not exist', p_id USING ERRCODE = 'P0002';
  END IF;
  IF r.claimed_by IS DISTINCT FROM session_user OR r.claim_expires < now() THEN
    RAISE EXCEPTION 'review item % is not claimed by you (held by %)', p_id,
      coalesce(r.claimed_by, 'nobody') USING ERRCODE = '55P03';
  END IF;
  RETURN r;
END $$;

CREATE FUNCTION desk_audit(p_item review_items, p_account text, p_action text, p_result text,
                           p_request_id text, p_detail text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  INSERT INTO audit_log(actor, action, team_id, channel_id, message_id, rule, result,
                        request_id, detail, review_id)
  VALUES (p_account, p_action, p_item.team_id, p_item.channel_id, p_item.message_id,
          p_item.rule_id, p_result, p_request_id, p_detail, p_item.id);
$$;

-- Claims up to p_limit open items that nobody holds (or whose claim lapsed), oldest first.
CREATE FUNCTION desk_claim(p_limit integer, p_ttl_seconds integer, p_account text)
RETURNS SETOF bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH picked AS (
    SELECT id FROM review_items
     WHERE NOT resolved
       AND (claimed_by IS NULL OR claim_expires < now() OR claimed_by = session_user)
     ORDER BY flagged_at, id
     LIMIT p_limit
     FOR UPDATE SKIP LOCKED)
  UPDATE review_items r
     SET claimed_by = session_user, claimed_account = p_account,
         claim_expires = now() + make_interval(secs => p_ttl_seconds),
         seq = nextval('commit_seq')
    FROM picked WHERE r.id = picked.id
  RETURNING r.id;
$$;

-- Claims one item; false when someone else holds a live claim (or is claiming it now).
CREATE FUNCTION desk_claim_item(p_id bigint, p_ttl_seconds integer, p_account text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE got bigint;
BEGIN
  SELECT id INTO got FROM review_items
   WHERE id = p_id
     AND (claimed_by IS NULL OR claim_expires < now() OR claimed_by = session_user)
   FOR UPDATE SKIP LOCKED;
  IF got IS NULL THEN
    RETURN false;
  END IF;
  UPDATE review_items
     SET claimed_by = session_user, claimed_account = p_account,
         claim_expires = now() + make_interval(secs => p_ttl_seconds),
         seq = nextval('commit_seq')
   WHERE id = p_id;
  RETURN true;
END $$;

CREATE FUNCTION desk_release(p_id bigint) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  UPDATE review_items SET claimed_by = NULL, claimed_account = NULL, claim_expires = NULL,
         seq = nextval('commit_seq')
   WHERE id = p_id AND claimed_by = session_user;
$$;

CREATE FUNCTION desk_resolve(p_id bigint, p_tag text, p_comment text, p_account text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE r review_items;
BEGIN
  IF p_tag NOT IN ('compliant', 'non-compliant', 'false-positive') THEN
    RAISE EXCEPTION 'unknown tag "%"', p_tag USING ERRCODE = '22023';
  END IF;
  r := desk_claimed_item(p_id);
  UPDATE review_items SET resolved = true, tag = p_tag, comment = p_comment,
         claimed_by = NULL, claimed_account = NULL, claim_expires = NULL,
         seq = nextval('commit_seq')
   WHERE id = p_id;
  PERFORM desk_audit(r, p_account, 'resolve', p_tag, '', p_comment);
END $$;

CREATE FUNCTION desk_tag(p_id bigint, p_tag text, p_comment text, p_account text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE r review_items;
BEGIN
  r := desk_claimed_item(p_id);
  UPDATE review_items SET tag = p_tag, comment = p_comment, seq = nextval('commit_seq')
   WHERE id = p_id;
  PERFORM desk_audit(r, p_account, 'tag', p_tag, '', p_comment);
END $$;

CREATE FUNCTION desk_escalate(p_id bigint, p_account text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE r review_items;
BEGIN
  r := desk_claimed_item(p_id);
  UPDATE review_items SET escalated = true, seq = nextval('commit_seq') WHERE id = p_id;
  PERFORM desk_audit(r, p_account, 'escalate', 'ok', '', '');
END $$;

-- The desk sent a notice reply to Graph (with the moderator's token); this records it.
CREATE FUNCTION desk_record_notice(p_id bigint, p_account text, p_result text,
                                   p_request_id text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE r review_items;
BEGIN
  r := desk_claimed_item(p_id);
  UPDATE review_items SET noticed = (p_result = 'ok'), seq = nextval('commit_seq')
   WHERE id = p_id;
  PERFORM desk_audit(r, p_account, 'notice', p_result, p_request_id, '');
END $$;

-- Any other moderator action (post, reply, edit, delete, undo) made with Graph.
CREATE FUNCTION desk_append_audit(p_account text, p_action text, p_team text, p_channel text,
                                  p_message text, p_rule text, p_result text,
                                  p_request_id text, p_detail text) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  INSERT INTO audit_log(actor, action, team_id, channel_id, message_id, rule, result,
                        request_id, detail)
  VALUES (p_account, p_action, p_team, p_channel, p_message, p_rule, p_result, p_request_id,
          p_detail)
  RETURNING seq;
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO channeldeck_node, channeldeck_desk;
GRANT SELECT ON cdeck_schema TO channeldeck_node, channeldeck_desk;
GRANT SELECT, INSERT, UPDATE, DELETE ON teams, channels, messages, message_versions,
  sync_state, sync_node, rule_packs, review_items TO channeldeck_node;
GRANT SELECT, INSERT ON audit_log TO channeldeck_node;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO channeldeck_node;
GRANT SELECT ON teams, channels, messages, message_versions, sync_state, sync_node,
  rule_packs, review_items, audit_log TO channeldeck_desk;
GRANT SELECT, INSERT, UPDATE, DELETE ON drafts TO channeldeck_desk;
GRANT EXECUTE ON FUNCTION desk_claim(integer, integer, text),
  desk_claim_item(bigint, integer, text), desk_release(bigint),
  desk_resolve(bigint, text, text, text), desk_tag(bigint, text, text, text),
  desk_escalate(bigint, text), desk_record_notice(bigint, text, text, text),
  desk_append_audit(text, text, text, text, text, text, text, text, text)
  TO channeldeck_desk;
)SQL";

}  // namespace

namespace pg_detail {
extern const char* const kMigration2;  // pg_schema_cluster.cpp
}

namespace {

const char* const kMigrations[] = {kMigration1, pg_detail::kMigration2};
constexpr size_t kMigrationCount = sizeof(kMigrations) / sizeof(kMigrations[0]);
static_assert(kMigrationCount == size_t{kPgSchemaVersion}, "one migration per schema version");

}  // namespace

Result<int> PgSchemaVersion(PgConn& conn) {
    auto exists = conn.Exec("SELECT to_regclass('cdeck_schema') IS NOT NULL");
    if (!exists) return exists.error();
    if (!exists->Bool(0, 0)) return 0;
    auto v = conn.Exec("SELECT coalesce(max(version), 0) FROM cdeck_schema");
    if (!v) return v.error();
    return static_cast<int>(v->Int(0, 0));
}

namespace {

Error Newer(int found) {
    return MakeError(ErrorCode::kConfig, "the database has schema version " +
                                             std::to_string(found) +
                                             ", newer than this channeldeck-node understands (" +
                                             std::to_string(kPgSchemaVersion) +
                                             "); upgrade channeldeck before using it");
}

}  // namespace

Status PgMigrate(PgConn& conn, int* applied) {
    if (applied) *applied = 0;
    for (int target = 1; target <= kPgSchemaVersion; ++target) {
        if (Status st = conn.Begin(); !st) return st;
        // Serialise concurrent migrations (two nodes started together).
        auto lock = conn.Exec("SELECT pg_advisory_xact_lock(7274101)");
        auto current = lock ? PgSchemaVersion(conn) : Result<int>(lock.error());
        if (!current) {
            conn.Rollback();
            return current.error();
        }
        if (current.value() > kPgSchemaVersion) {
            conn.Rollback();
            return Newer(current.value());
        }
        if (current.value() >= target) {
            conn.Rollback();
            continue;
        }
        Status st = conn.ExecScript(kMigrations[target - 1]);
        if (st) {
            auto rec = conn.Exec("INSERT INTO cdeck_schema(version) VALUES ($1)",
                                 {std::to_string(target)});
            if (!rec) st = rec.error();
        }
        if (st) st = conn.Commit();
        if (!st) {
            conn.Rollback();
            return MakeError(ErrorCode::kIo, "migration to schema version " +
                                                 std::to_string(target) +
                                                 " failed: " + st.error().message);
        }
        if (applied) ++*applied;
    }
    return PgCheckSchema(conn);
}

Result<std::optional<PgRulePack>> PgEnabledRulePack(PgConn& conn) {
    auto r = conn.Exec(
        "SELECT pack, version, json FROM rule_packs WHERE enabled ORDER BY published_at DESC, "
        "version DESC LIMIT 1");
    if (!r) return r.error();
    if (r->Rows() == 0) return std::optional<PgRulePack>();
    return std::optional<PgRulePack>(
        PgRulePack{r->Text(0, 0), static_cast<int>(r->Int(0, 1)), r->Text(0, 2)});
}

Status PgCheckSchema(PgConn& conn) {
    auto v = PgSchemaVersion(conn);
    if (!v) return v.error();
    if (v.value() > kPgSchemaVersion) return Newer(v.value());
    if (v.value() < kPgSchemaVersion)
        return MakeError(ErrorCode::kConfig,
                         "the database has schema version " + std::to_string(v.value()) +
                             "; run \"channeldeck-node migrate\" to bring it to version " +
                             std::to_string(kPgSchemaVersion));
    return OkStatus();
}

}  // namespace cdeck::core
